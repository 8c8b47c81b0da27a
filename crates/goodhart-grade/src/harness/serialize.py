# Exact-type serialisation of plain values, defined before any untrusted code runs so the solution cannot
# swap it out through builtins. Besides int/float/str/bool/None/list/tuple/dict/set/frozenset it carries the
# few standard types whose equality is plain data too: complex, bytes, bytearray, collections.Counter,
# OrderedDict, defaultdict and namedtuple classes. Types are matched by identity with classes captured here,
# contents are read through the base types' own methods (never the value's), and every other type, subclass
# included, is refused with a reason.
#
# The text is written here rather than by json.dumps, whose encoder machinery, touched for the first time in
# each case's fresh fork, copies more pages than the rest of a case together; strings are quoted by the
# json module's own ASCII quoting, so the text is the one json.dumps would write.
def _goodhart_serializer():
    import collections
    from json.encoder import encode_basestring_ascii as quote
    t_int, t_float, t_str, t_bool, t_none = int, float, str, bool, type(None)
    t_list, t_tuple, t_dict, t_set, t_frozenset = list, tuple, dict, set, frozenset
    t_complex, t_bytes, t_bytearray, t_type = complex, bytes, bytearray, type
    t_counter, t_ordered, t_default = collections.Counter, collections.OrderedDict, collections.defaultdict
    kind_of, id_of, float_repr, to_hex, join = type, id, float.__repr__, int.__index__, ", ".join
    int_hex, bytes_hex, bytearray_hex = hex, bytes.hex, bytearray.hex
    dict_items, ordered_items, tuple_items, everything = dict.items, t_ordered.items, tuple.__getitem__, slice(None)
    # Keyed by id(): a class whose metaclass lies about __eq__/__hash__ cannot match another class's entry.
    sequences = {id_of(t_list): "l", id_of(t_tuple): "t", id_of(t_set): "S", id_of(t_frozenset): "F"}
    mappings = {
        id_of(t_dict): ("d", dict_items),
        id_of(t_counter): ("C", dict_items),
        id_of(t_default): ("D", dict_items),
        id_of(t_ordered): ("O", ordered_items),
    }
    limit = 1000000

    class Refused(Exception):
        pass

    def is_namedtuple(k):
        # A class made by collections.namedtuple: plain metaclass, tuple as its only base, namedtuple's own
        # members, and tuple's comparison. Its value is then exactly the tuple of its fields.
        if kind_of(k) is not t_type:
            return False
        bases, members = k.__bases__, k.__dict__
        return (len(bases) == 1 and bases[0] is t_tuple and "_fields" in members and "_make" in members
                and "__eq__" not in members and "__ne__" not in members)

    def encode(value, depth, budget):
        # The value as tagged JSON text: ["tag", payload]; hex digits, float reprs and tags need no quoting.
        budget[0] += 1
        if budget[0] > limit or depth > 100:
            raise Refused("value too large or too deeply nested")
        k = kind_of(value)
        if k is t_bool:
            return '["b", true]' if value is True else '["b", false]'
        if k is t_int:
            return '["i", "%s"]' % int_hex(to_hex(value))
        if k is t_float:
            return '["f", "%s"]' % float_repr(value)
        if k is t_str:
            try:
                value.encode("utf-8")
                return '["s", %s]' % quote(value)
            except UnicodeEncodeError:
                return '["x", "%s"]' % value.encode("utf-8", "surrogatepass").hex()
        if k is t_none:
            return '["n"]'
        tag = sequences.get(id_of(k))
        if tag is not None:
            return '["%s", [%s]]' % (tag, join([encode(v, depth + 1, budget) for v in value]))
        mapping = mappings.get(id_of(k))
        if mapping is not None:
            tag, items = mapping
            pairs = ["[%s, %s]" % (encode(a, depth + 1, budget), encode(b, depth + 1, budget)) for a, b in items(value)]
            return '["%s", [%s]]' % (tag, join(pairs))
        if k is t_complex:
            return '["c", ["%s", "%s"]]' % (float_repr(value.real), float_repr(value.imag))
        if k is t_bytes:
            return '["y", "%s"]' % bytes_hex(value)
        if k is t_bytearray:
            return '["Y", "%s"]' % bytearray_hex(value)
        if is_namedtuple(k):
            return '["t", [%s]]' % join([encode(v, depth + 1, budget) for v in tuple_items(value, everything)])
        raise Refused("type %s.%s is not a plain value" % (k.__module__, k.__qualname__))

    def serialize(value):
        # (tagged JSON text, None) or (None, reason)
        try:
            return encode(value, 0, [0]), None
        except Refused as e:
            return None, str(e.args[0])
        except RecursionError:
            return None, "value too deeply nested"

    return serialize


_goodhart_serialize = _goodhart_serializer()
