//! Which model to talk to and how: `--model PROVIDER/NAME [--base-url URL] [--api-key-env VAR]`, or a
//! named entry of a models TOML file.
//!
//! A models file names the endpoints a team uses so commands can say `--model qwen-local`:
//!
//! ```toml
//! [models.qwen-local]
//! model = "openai/Qwen/Qwen2.5-7B-Instruct"   # PROVIDER/NAME; PROVIDER is openai or anthropic
//! base_url = "http://localhost:8000/v1"        # optional; the provider's public API otherwise
//! api_key_env = "VLLM_API_KEY"                 # optional; OPENAI_API_KEY / ANTHROPIC_API_KEY otherwise
//! input_cost_per_mtok = 0.15                   # optional, US dollars per million input tokens
//! output_cost_per_mtok = 0.60                  # optional, US dollars per million output tokens
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The wire protocol a model speaks; every server we support speaks one of these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI Chat Completions, also served by vLLM, SGLang, llama.cpp and Ollama.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

impl Provider {
    /// The name used in `PROVIDER/NAME` and in cache keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
        }
    }

    /// Where the provider's public API lives when no `--base-url` is given.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::OpenAi => "https://api.openai.com/v1",
            Provider::Anthropic => "https://api.anthropic.com",
        }
    }

    /// The environment variable holding the key when no `--api-key-env` is given.
    pub fn default_api_key_env(self) -> &'static str {
        match self {
            Provider::OpenAi => "OPENAI_API_KEY",
            Provider::Anthropic => "ANTHROPIC_API_KEY",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "openai" => Ok(Provider::OpenAi),
            "anthropic" => Ok(Provider::Anthropic),
            other => Err(SpecError::UnknownProvider(other.to_string())),
        }
    }
}

/// Why a model could not be resolved to an endpoint.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("unknown provider `{0}` (expected `openai` or `anthropic`)")]
    UnknownProvider(String),
    #[error(
        "model `{0}` is neither PROVIDER/NAME (e.g. openai/gpt-4o-mini) nor an entry of a models file (--models PATH)"
    )]
    Unresolved(String),
    #[error("model `{name}` is not in models file {path}")]
    NotInFile { name: String, path: PathBuf },
    #[error("cannot read models file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("models file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("base URL `{0}` must start with http:// or https://")]
    BadBaseUrl(String),
}

/// A model endpoint fully resolved: every command that talks to a model takes one of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub provider: Provider,
    /// The model name the server knows (`gpt-4o-mini`, `Qwen/Qwen2.5-7B-Instruct`).
    pub name: String,
    /// API root without a trailing slash (`http://localhost:8000/v1` for OpenAI-compatible servers).
    pub base_url: String,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// True when a missing key is an error rather than "no key": the user named `api_key_env`, or the
    /// endpoint is the provider's public API (no `base_url` given), which refuses keyless requests.
    #[serde(default)]
    pub api_key_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cost_per_mtok: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_cost_per_mtok: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsFile {
    #[serde(default)]
    models: BTreeMap<String, ModelEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelEntry {
    model: String,
    base_url: Option<String>,
    api_key_env: Option<String>,
    input_cost_per_mtok: Option<f64>,
    output_cost_per_mtok: Option<f64>,
}

impl ModelSpec {
    /// Parses `PROVIDER/NAME` with optional overrides, as the `--model` flags give them.
    pub fn parse(
        model: &str,
        base_url: Option<&str>,
        api_key_env: Option<&str>,
    ) -> Result<ModelSpec, SpecError> {
        let (provider, name) = model
            .split_once('/')
            .ok_or_else(|| SpecError::Unresolved(model.to_string()))?;
        let provider: Provider = provider.parse()?;
        if name.is_empty() {
            return Err(SpecError::Unresolved(model.to_string()));
        }
        let public_api = base_url.is_none();
        let base_url = match base_url {
            Some(url) => normalise_base_url(url)?,
            None => provider.default_base_url().to_string(),
        };
        Ok(ModelSpec {
            provider,
            name: name.to_string(),
            base_url,
            api_key_env: api_key_env
                .unwrap_or(provider.default_api_key_env())
                .to_string(),
            // The public APIs answer 401 to every keyless request, so without a --base-url (a local
            // server that may need no key) a missing key stops the run before its first request.
            api_key_required: api_key_env.is_some() || public_api,
            input_cost_per_mtok: None,
            output_cost_per_mtok: None,
        })
    }

    /// Resolves `--model`: `PROVIDER/NAME` directly, otherwise a named entry of `models_file`; the flags
    /// override what the file says.
    pub fn resolve(
        model: &str,
        base_url: Option<&str>,
        api_key_env: Option<&str>,
        models_file: Option<&Path>,
    ) -> Result<ModelSpec, SpecError> {
        let provider_prefix = model.split_once('/').map(|(p, _)| p);
        if matches!(provider_prefix, Some("openai" | "anthropic")) {
            return ModelSpec::parse(model, base_url, api_key_env);
        }
        let Some(path) = models_file else {
            return Err(match provider_prefix {
                Some(p) => SpecError::UnknownProvider(p.to_string()),
                None => SpecError::Unresolved(model.to_string()),
            });
        };
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            cause: source,
        })?;
        let file: ModelsFile = toml::from_str(&text).map_err(|e| SpecError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let entry = file.models.get(model).ok_or_else(|| SpecError::NotInFile {
            name: model.to_string(),
            path: path.to_path_buf(),
        })?;
        let mut spec = ModelSpec::parse(
            &entry.model,
            base_url.or(entry.base_url.as_deref()),
            api_key_env.or(entry.api_key_env.as_deref()),
        )
        .map_err(|e| SpecError::Parse {
            path: path.to_path_buf(),
            message: format!("[models.{model}] model = \"{}\": {e}", entry.model),
        })?;
        spec.input_cost_per_mtok = entry.input_cost_per_mtok;
        spec.output_cost_per_mtok = entry.output_cost_per_mtok;
        Ok(spec)
    }

    /// `PROVIDER/NAME`, the label stored with every sample.
    pub fn label(&self) -> String {
        format!("{}/{}", self.provider, self.name)
    }

    /// US dollars for these token counts, when prices are known.
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> Option<f64> {
        if self.input_cost_per_mtok.is_none() && self.output_cost_per_mtok.is_none() {
            return None;
        }
        let per = |price: Option<f64>, tokens: u64| price.unwrap_or(0.0) * tokens as f64 / 1e6;
        Some(
            per(self.input_cost_per_mtok, input_tokens)
                + per(self.output_cost_per_mtok, output_tokens),
        )
    }
}

fn normalise_base_url(url: &str) -> Result<String, SpecError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(SpecError::BadBaseUrl(url.to_string()));
    }
    Ok(url.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_slash_name_keeps_slashes_in_the_name() {
        let s =
            ModelSpec::parse("openai/Qwen/Qwen2.5-7B", Some("http://h:8000/v1/"), None).unwrap();
        assert_eq!(s.provider, Provider::OpenAi);
        assert_eq!(s.name, "Qwen/Qwen2.5-7B");
        assert_eq!(s.base_url, "http://h:8000/v1");
        assert_eq!(s.api_key_env, "OPENAI_API_KEY");
        assert!(!s.api_key_required);
        let public = ModelSpec::parse("openai/gpt-4o-mini", None, None).unwrap();
        assert!(public.api_key_required, "the public API needs a key");
        let a = ModelSpec::parse("anthropic/claude-x", None, Some("MY_KEY")).unwrap();
        assert_eq!(a.base_url, "https://api.anthropic.com");
        assert!(a.api_key_required);
        assert_eq!(a.label(), "anthropic/claude-x");
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let e = ModelSpec::parse("gemini/x", None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown provider `gemini`"), "{e}");
        let e = ModelSpec::parse("openai/x", Some("localhost:8000"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("http://"), "{e}");
        let e = ModelSpec::resolve("qwen", None, None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--models"), "{e}");
    }

    #[test]
    fn models_file_entries_resolve_and_flags_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("models.toml");
        std::fs::write(
            &path,
            "[models.local]\nmodel = \"openai/qwen\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
             api_key_env = \"LOCAL_KEY\"\ninput_cost_per_mtok = 1.0\noutput_cost_per_mtok = 2.0\n",
        )
        .unwrap();
        let s = ModelSpec::resolve("local", None, None, Some(&path)).unwrap();
        assert_eq!(s.name, "qwen");
        assert_eq!(s.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(s.api_key_env, "LOCAL_KEY");
        assert_eq!(s.cost(1_000_000, 500_000), Some(2.0));
        let s = ModelSpec::resolve("local", Some("http://other/v1"), None, Some(&path)).unwrap();
        assert_eq!(s.base_url, "http://other/v1");
        let e = ModelSpec::resolve("missing", None, None, Some(&path))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not in models file"), "{e}");
    }

    #[test]
    fn models_file_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("models.toml");
        std::fs::write(
            &path,
            "[models.local]\nmodel = \"openai/q\"\nbase = \"x\"\n",
        )
        .unwrap();
        let e = ModelSpec::resolve("local", None, None, Some(&path))
            .unwrap_err()
            .to_string();
        assert!(e.contains("models.toml"), "{e}");
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("base"), "{e}");
    }
}
