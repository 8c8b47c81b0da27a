# Exact-type serialisation of plain values, defined before any untrusted code runs so the solution cannot
# swap it out through builtins. Subclasses and every other type are refused with a reason.
def _goodhart_serializer():
    import json
    t_int, t_float, t_str, t_bool, t_none = int, float, str, bool, type(None)
    t_list, t_tuple, t_dict, t_set, t_frozenset = list, tuple, dict, set, frozenset
    kind_of, float_repr, to_hex, dumps = type, float.__repr__, int.__index__, json.dumps
    int_hex = hex
    tags = {t_list: "l", t_tuple: "t", t_set: "S", t_frozenset: "F"}
    limit = 1000000

    class Refused(Exception):
        pass

    def encode(value, depth, budget):
        budget[0] += 1
        if budget[0] > limit or depth > 100:
            raise Refused("value too large or too deeply nested")
        k = kind_of(value)
        if k is t_bool:
            return ["b", value is True]
        if k is t_int:
            return ["i", int_hex(to_hex(value))]
        if k is t_float:
            return ["f", float_repr(value)]
        if k is t_str:
            try:
                value.encode("utf-8")
                return ["s", value]
            except UnicodeEncodeError:
                return ["x", value.encode("utf-8", "surrogatepass").hex()]
        if k is t_none:
            return ["n"]
        if k in tags:
            return [tags[k], [encode(v, depth + 1, budget) for v in value]]
        if k is t_dict:
            return ["d", [[encode(a, depth + 1, budget), encode(b, depth + 1, budget)] for a, b in value.items()]]
        raise Refused("type %s.%s is not a plain value" % (k.__module__, k.__qualname__))

    def serialize(value):
        # (tagged JSON text, None) or (None, reason)
        try:
            return dumps(encode(value, 0, [0])), None
        except Refused as e:
            return None, str(e.args[0])
        except RecursionError:
            return None, "value too deeply nested"

    return serialize


_goodhart_serialize = _goodhart_serializer()
