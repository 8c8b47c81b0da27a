//! Graders and exploits depend on these exit semantics being those of `python main.py`.

mod common;

use common::{err, out, run, sandbox};
use goodhart_sandbox::{Program, Status};

#[test]
fn plain_exit_zero_and_output() {
    let o = run("print('hello')\nimport sys\nprint('err', file=sys.stderr)");
    assert_eq!(o.status, Status::Ok);
    assert_eq!(o.exit_code, Some(0));
    assert_eq!(out(&o), "hello\n");
    assert_eq!(err(&o), "err\n");
}

#[test]
fn system_exit_variants() {
    let cases = [
        ("raise SystemExit", Status::Ok, Some(0), ""),
        ("import sys; sys.exit(0)", Status::Ok, Some(0), ""),
        ("import sys; sys.exit(3)", Status::Exit(3), Some(3), ""),
        ("import sys; sys.exit(None)", Status::Ok, Some(0), ""),
        (
            "import sys; sys.exit('bye')",
            Status::Exit(1),
            Some(1),
            "bye\n",
        ),
        ("import sys; sys.exit(True)", Status::Exit(1), Some(1), ""),
        ("import os; os._exit(7)", Status::Exit(7), Some(7), ""),
    ];
    for (src, status, code, stderr) in cases {
        let o = run(src);
        assert_eq!(o.status, status, "{src}: {o:?}");
        assert_eq!(o.exit_code, code, "{src}");
        assert_eq!(err(&o), stderr, "{src}");
    }
}

#[test]
fn uncaught_exception_prints_traceback_from_main_and_exits_1() {
    let o = run("def f():\n    raise ValueError('boom')\nf()");
    assert_eq!(o.status, Status::Exit(1));
    let e = err(&o);
    assert!(
        e.starts_with("Traceback (most recent call last):\n  File \"/work/main.py\", line 3"),
        "{e}"
    );
    assert!(e.ends_with("ValueError: boom\n"), "{e}");
}

#[test]
fn user_excepthook_decides() {
    let src = "import sys\ndef hook(t, v, tb):\n    print('hooked', t.__name__)\n    sys.exit(0)\nsys.excepthook = hook\nassert 1 == 2";
    let o = run(src);
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(out(&o), "hooked AssertionError\n");
}

#[test]
fn atexit_handlers_run_and_os_exit_in_them_decides() {
    let o = run("import atexit\natexit.register(lambda: print('bye'))\nprint('hi')");
    assert_eq!(
        (o.status.clone(), out(&o)),
        (Status::Ok, "hi\nbye\n".to_string())
    );
    let o = run("import atexit, os\natexit.register(lambda: os._exit(0))\nassert False");
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert!(err(&o).contains("AssertionError"));
}

#[test]
fn non_daemon_threads_are_joined_before_exit() {
    let src = "import threading, time\ndef w():\n    time.sleep(0.1)\n    print('thread done', flush=True)\nthreading.Thread(target=w).start()\nprint('main done')";
    let o = run(src);
    assert_eq!(o.status, Status::Ok);
    assert_eq!(out(&o), "main done\nthread done\n");
}

#[test]
fn argv_reaches_the_program_exactly_whatever_it_holds() {
    let argv: Vec<String> = vec![
        "two words".into(),
        "line\nbreak".into(),
        "".into(),
        "10.0 1 2 3 4".into(),
        "ünïcode ✓".into(),
        "\"quoted\" \\ back".into(),
    ];
    let program = Program {
        main: "import sys, json\nprint(json.dumps(sys.argv[1:]))".into(),
        argv: argv.clone(),
        ..Program::default()
    };
    let o = sandbox().run(&program);
    assert_eq!(o.status, Status::Ok, "{o:?}");
    let seen: Vec<String> = serde_json::from_str(out(&o).trim()).expect("the program prints JSON");
    assert_eq!(seen, argv);
}

#[test]
fn main_module_argv_path_stdin_and_files() {
    let mut files = std::collections::BTreeMap::new();
    files.insert(
        "solution.py".to_string(),
        b"def f():\n    return 42\n".to_vec(),
    );
    files.insert("data/in.txt".to_string(), b"payload".to_vec());
    let program = Program {
        main: "import sys, os, solution\nprint(__name__, sys.argv, os.getcwd(), sys.path[0])\nprint(solution.f(), open('data/in.txt').read(), sys.stdin.read())\nopen('result.txt', 'w').write('written')".into(),
        files,
        stdin: b"from stdin".to_vec(),
        argv: vec!["-x".into(), "y".into()],
        fetch: vec!["result.txt".into(), "missing.txt".into()],
        limits: None,
    };
    let o = sandbox().run(&program);
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(
        out(&o),
        "__main__ ['main.py', '-x', 'y'] /work /work\n42 payload from stdin\n"
    );
    assert_eq!(
        o.files.get("result.txt").map(Vec::as_slice),
        Some(&b"written"[..])
    );
    assert!(!o.files.contains_key("missing.txt"));
}

#[test]
fn pytest_runs_inside_a_run() {
    let mut files = std::collections::BTreeMap::new();
    files.insert(
        "test_x.py".to_string(),
        b"def test_ok():\n    assert 1 + 1 == 2\n\ndef test_bad():\n    assert 1 == 2\n".to_vec(),
    );
    let program = Program {
        main: "import sys, pytest\nsys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'test_x.py']))".into(),
        files,
        ..Program::default()
    };
    let o = sandbox().run(&program);
    assert_eq!(o.status, Status::Exit(1), "{o:?}");
    assert!(out(&o).contains("1 failed, 1 passed"), "{}", out(&o));
}

/// A small pytest project that uses builtin fixtures, a conftest fixture, a hook, a skip and an ini file.
fn pytest_project() -> std::collections::BTreeMap<String, Vec<u8>> {
    [
        (
            "test_x.py",
            "import pytest\n\ndef test_fixtures(tmp_path, capsys, monkeypatch, answer):\n    \
             monkeypatch.setenv('X', '1')\n    (tmp_path / 'f').write_text('x')\n    print('out')\n    \
             assert capsys.readouterr().out == 'out\\n' and answer == 42\n\n\
             def test_bad():\n    assert 1 == 2\n\n@pytest.mark.skip(reason='because')\ndef test_skipped():\n    pass\n\n\
             def test_planted(on_session, in_module):\n    assert (on_session, in_module) == (7, 8)\n",
        ),
        (
            "conftest.py",
            "import pytest\n\n@pytest.fixture\ndef answer():\n    return 42\n\n\
             def pytest_collection_modifyitems(items):\n    print('hook saw', len(items), 'items')\n\n\
             # Fixtures planted on a builtin plugin class and module: pytest's scan finds both.\n\
             import _pytest.main, _pytest.tmpdir\n\
             def plant():\n    @pytest.fixture\n    def on_session(self):\n        return 7\n\n    \
             @pytest.fixture\n    def in_module():\n        return 8\n\n    \
             _pytest.main.Session.on_session = on_session\n    _pytest.tmpdir.in_module = in_module\n\nplant()\n",
        ),
        ("pytest.ini", "[pytest]\naddopts = -rA\n"),
    ]
    .into_iter()
    .map(|(name, text)| (name.to_string(), text.as_bytes().to_vec()))
    .collect()
}

#[test]
fn prepared_pytest_main_is_pytest_main_started_ahead() {
    // Output of a pytest run with the durations taken out, from `main`, which gets the pytest arguments.
    let session = |main: &str| {
        let o = sandbox().run(&Program {
            main: main.into(),
            files: pytest_project(),
            argv: vec![goodhart_sandbox::PYTEST_QUIET_PLUGINS.join(",")],
            ..Program::default()
        });
        assert_eq!(o.status, Status::Ok, "{o:?}");
        let text = out(&o);
        let cut = without_durations(&text);
        (cut, text)
    };
    let args = "import sys\nargs = ['-q', *[a for n in sys.argv[1].split(',') for a in ('-p', 'no:' + n)], 'test_x.py']\n";
    let (plain, _) = session(&format!(
        "{args}import pytest\nprint('code', int(pytest.main(args)))\n"
    ));
    // get_config is gone, so only a start prepared before the run can work; a second call, or one that
    // blocks other plugins, is plain pytest.main and needs it.
    let (prepared, text) = session(&format!(
        "{args}import _pytest.config, _goodhart_prepared_pytest as prepared\n\
         _pytest.config.get_config = None\nprint('code', int(prepared.main(args)))\n\
         for again in (args, ['-q', 'test_x.py']):\n    try:\n        prepared.main(again)\n    \
         except TypeError:\n        print('plain pytest.main')\n"
    ));
    assert!(
        plain.contains("code 1") && plain.contains("hook saw 4 items"),
        "{plain}"
    );
    assert!(plain.contains("1 failed, 2 passed, 1 skipped"), "{plain}");
    assert!(
        prepared.starts_with(&plain)
            && prepared.ends_with("plain pytest.main\nplain pytest.main\n"),
        "prepared:\n{text}\nplain:\n{plain}"
    );
}

#[test]
fn the_pytest_images_rehearsal_leaves_nothing_a_run_can_see() {
    // The pytest image runs whole sessions before its first fork (harness.py's rehearse_pytest): a run
    // must see none of their output, modules, paths, files, environment or last exception.
    let o = run("import os, sys, unittest, linecache\n\
         print(sorted(m for m in sys.modules if 'rehearsal' in m), [p for p in sys.path if 'rehearsal' in p],\n\
         [k for k in sys.path_importer_cache if 'rehearsal' in k], [k for k in linecache.cache if 'rehearsal' in k],\n\
         [k for k in os.environ if k.startswith('PYTEST')], hasattr(sys, 'last_value'), os.listdir('/tmp'))\n");
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert_eq!(out(&o), "[] [] [] [] [] False []\n");
    assert_eq!(err(&o), "");
}

/// pytest's output with each ` in 0.12s` duration removed, so two sessions compare equal.
fn without_durations(text: &str) -> String {
    text.lines()
        .map(|line| match line.rfind(" in ") {
            Some(at) if line[at + 4..].trim_end_matches('=').trim().ends_with('s') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn state_does_not_leak_between_runs() {
    let o = run("import builtins, sys\nbuiltins.LEAK = 1\nsys.modules['leaky'] = sys\nopen('/tmp/left', 'w').write('x')\nopen('left', 'w').write('x')");
    assert_eq!(o.status, Status::Ok);
    let o = run("import builtins, sys, os\nprint(hasattr(builtins, 'LEAK'), 'leaky' in sys.modules, os.path.exists('/tmp/left'), os.path.exists('left'))");
    assert_eq!(out(&o), "False False False False\n");
}

#[test]
fn json_form_has_the_contract_keys() {
    let o = run("print('x')");
    let j = o.to_json();
    for key in [
        "status",
        "exit_code",
        "stdout",
        "stderr",
        "wall_ms",
        "cpu_ms",
        "peak_memory_bytes",
        "signal",
    ] {
        assert!(j.get(key).is_some(), "missing {key}");
    }
    assert_eq!(j["status"], "ok");
    assert_eq!(j["stdout"], "x\n");
}

#[test]
fn a_source_run_many_times_behaves_as_on_its_first_run() {
    // The pool compiles a main.py it has seen before once, for the runs after; nothing of that may show.
    let src = "import sys\nstate = globals().setdefault('runs', [])\nstate.append(1)\nprint(__name__, __file__, len(state), sys.argv[1:])\nraise ValueError('boom')\n";
    for _ in 0..8 {
        let o = sandbox().run(&Program {
            main: src.into(),
            argv: vec!["a".into()],
            ..Program::default()
        });
        assert_eq!(o.status, Status::Exit(1), "{o:?}");
        assert_eq!(out(&o), "__main__ /work/main.py 1 ['a']\n");
        assert!(
            err(&o).contains("File \"/work/main.py\", line 5, in <module>")
                && err(&o).ends_with("ValueError: boom\n"),
            "{}",
            err(&o)
        );
    }
    let bad = "def f(:\n    pass\n";
    for _ in 0..4 {
        let o = run(bad);
        assert_eq!(o.status, Status::Exit(1), "{o:?}");
        assert!(err(&o).contains("SyntaxError"), "{}", err(&o));
    }
}

#[test]
fn every_run_draws_its_own_random_numbers_and_starts_threads_in_both_images() {
    // The pytest image has random and threading imported before its runs fork; a run must still get a
    // fresh random sequence (as a new interpreter would) and a working thread table.
    for marker in ["", "# pytest\n"] {
        let draw = format!("{marker}import random\nprint(random.random())\n");
        let mut draws: Vec<String> = (0..6).map(|_| out(&run(&draw))).collect();
        draws.sort();
        draws.dedup();
        assert_eq!(draws.len(), 6, "{marker:?}: {draws:?}");
        let threads = format!(
            "{marker}import threading\n\
             seen = []\n\
             t = threading.Thread(target=lambda: seen.append(threading.current_thread().name))\n\
             t.start()\nt.join()\n\
             print(seen != [], threading.current_thread() is threading.main_thread(), threading.active_count())\n"
        );
        let o = run(&threads);
        assert_eq!(out(&o), "True True 1\n", "{marker:?}: {o:?}");
    }
}
