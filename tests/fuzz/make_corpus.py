#!/usr/bin/env python3
"""Regenerates the hand-written seed corpora (tests/fuzz/corpus/<target>/seed_*).

Seeds follow protocol §1.6 (curl encodings a–g), §3 (node SDK record) and §4 (web SDK),
plus deliberately broken inputs. The definition and query targets are seeded from the
repository's own examples (examples/journeys, examples/audience, examples/queries, the golden
query cases in tests/golden and the shapes of tests/blackbox/segments.test.js). Crash reproducers found by fuzzing are added as
crash-* files by hand and are never touched by this script.
"""
import base64, glob, gzip, json, os, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EV = ('{"type":"track","event":"ViewProduct","distinct_id":"u1","time":1700000000000,'
      '"lib":{"$lib":"curl","$lib_version":"0"},"properties":{"price":1.5}}')
NODE = ('{"_track_id":1040007018,"type":"track","event":"ViewProduct","time":1795352291310,"distinct_id":"anon-1",'
        '"properties":{"$lib":"Node","$lib_version":"1.2.6","env":"test","product_id":"p1","price":9.5,"tags":["a","b"],'
        '"ok":true,"when":"2024-01-02 03:04:05.006"},'
        '"lib":{"$lib":"Node","$lib_version":"1.2.6","$lib_method":"code","$lib_detail":"Object##<anonymous>##/path/t1.js##6,4"}}')
WEB_SIGNUP = ('{"identities":{"$identity_cookie_id":"1a20356ab2b198-0865b71912c0948-3a563a7f-12751793-1a20356ab2ce0e",'
              '"$identity_login_id":"user-1","$identity_anonymous_id":"1a20356ab2b198-0865b71912c0948-3a563a7f-12751793-1a20356ab2ce0e"},'
              '"distinct_id":"user-1","original_id":"1a20356ab2b198-0865b71912c0948-3a563a7f-12751793-1a20356ab2ce0e",'
              '"login_id":"user-1","anonymous_id":"1a20356ab2b198-0865b71912c0948-3a563a7f-12751793-1a20356ab2ce0e",'
              '"lib":{"$lib":"js","$lib_method":"code","$lib_version":"1.27.11"},'
              '"properties":{"$timezone_offset":-480,"$screen_height":720,"$screen_width":1280,"$lib":"js",'
              '"$lib_version":"1.27.11","$latest_traffic_source_type":"直接流量","$url":"http://app.test/index.html",'
              '"$title":"SA test","$is_first_day":true},"type":"track_signup","event":"$SignUp",'
              '"_track_id":123456789,"_flush_time":1700000000123}')
PROFILES = [
    '{"type":"profile_set","event":"","project":"","distinct_id":"user-1","time":1700000000000,"properties":{"name":"Alice","age":30}}',
    '{"type":"profile_increment","distinct_id":"user-1","time":1700000000000,"properties":{"points":5}}',
    '{"type":"profile_append","distinct_id":"user-1","time":1700000000000,"properties":{"interests":["books"]}}',
    '{"type":"profile_unset","distinct_id":"user-1","time":1700000000000,"properties":{"age":true}}',
    '{"type":"item_set","item_type":"book","item_id":"b1","time":1700000000000,"properties":{"price":31.54}}',
    '{"type":"track_id_bind","event":"$BindID","distinct_id":"user-1","identities":{"$identity_login_id":"user-1","$identity_mobile":"13800000000"},"time":1700000000000}',
]

def b64(b): return base64.b64encode(b).decode()
def gz(s): return gzip.compress(s.encode(), mtime=0)
def q(s): return urllib.parse.quote(s, safe="")
def crc(s):
    h = 0
    for c in s: h = (h * 31 + ord(c)) & 0xffffffff
    return h - (1 << 32) if h >> 31 else h

def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

def sensors():
    t = "fuzz_sensors_payload"
    arr = "[" + EV + "]"
    B = b64(EV.encode())
    write(t, "a_data_list_gzip", "project=default\ndata_list=" + q(b64(gz(arr))) + "&gzip=1")
    write(t, "b_data_gzip", "project=default\ndata=" + q(b64(gz(EV))) + "&gzip=1")
    write(t, "c_web_ajax_crc", "project=default\ndata=" + q(B) + "&ext=" + q("crc=%d" % crc(B)))
    write(t, "d_web_image_get", "project=default&data=" + q(B) + "&ext=crc%3D" + str(crc(B)) + "\n")
    write(t, "e_text_plain_batch", "project=default\ndata_list=" + q(b64(arr.encode())))
    g = b64(gz(arr))
    write(t, "f_android_crc", "project=default\ncrc=%d&gzip=1&data_list=%s" % (crc(g), q(g)))
    write(t, "g_debug", "project=default\ndata_list=" + q(b64(gz("[" + NODE + "]"))) + "&gzip=1")
    write(t, "node_gzip0", "project=default&token=t\ndata_list=" + q(b64(("[" + NODE + "]").encode())) + "&gzip=0")
    write(t, "web_signup", "project=default\ndata=" + q(b64(WEB_SIGNUP.encode())))
    write(t, "profiles_batch", "\ndata_list=" + q(b64(gz("[" + ",".join(PROFILES) + "]"))) + "&gzip=1")
    write(t, "unencoded_plus", "\ndata=" + b64(b'{"type":"track","event":"E","distinct_id":"~~~>>>???"}'))
    write(t, "bad_base64", "\ndata_list=%%%not-base64!!&gzip=1")
    write(t, "wrong_crc", "\ndata=" + q(B) + "&ext=crc%3D12345")
    write(t, "encrypted", "\ngzip=9&data_list=" + q(b64(b"opaque")))
    write(t, "bad_gzip", "\ngzip=1&data_list=" + q(b64(gz(arr)[:20])))
    write(t, "bad_json", "\ndata=" + q(b64(b'{"type":"track",')))
    write(t, "bad_records", "\ndata_list=" + q(b64(b'[1,{"type":"x"},{"type":"track","properties":{"a":{"b":1},"t":["x",1]}}]')))
    write(t, "empty", "")

def native():
    t = "fuzz_native_batch"
    write(t, "array", "[" + ",".join([EV, NODE, WEB_SIGNUP]) + "]")
    write(t, "ndjson", "\n".join([EV, NODE] + PROFILES) + "\n")
    write(t, "ndjson_crlf_blank", EV + "\r\n\r\n" + NODE + "\r\n")
    write(t, "ndjson_bad_line", EV + "\n{broken\n" + NODE)
    write(t, "pretty_object", json.dumps(json.loads(NODE), indent=2, ensure_ascii=False))
    write(t, "bom_array", b"\xef\xbb\xbf[" + EV.encode() + b"]")
    write(t, "profiles", "[" + ",".join(PROFILES) + "]")
    write(t, "datetime_quirks", '[{"type":"track","event":"E","distinct_id":"u","properties":{"a":"2024-01-02 03:04:05.6","b":"2024-01-02 03:04:05.06","c":"2024-01-02","d":"2024-02-30"}}]')
    write(t, "seconds_and_big_track_id", '{"type":"track","event":"E","distinct_id":"u","time":1700000000,"_track_id":"9876543210"}')
    write(t, "invalid_utf8", b'[{"type":"track","event":"\xff\xfe","distinct_id":"u"}]')
    write(t, "reserved_names", '[{"type":"track","event":"events","distinct_id":"u","properties":{"user_id":1,"1abc":2}}]')
    write(t, "truncated_array", "[" + EV)
    write(t, "not_json", "hello world")
    write(t, "empty", "")

def segment():
    t = "fuzz_segment"
    ctx = {"ip": "1.2.3.4", "library": {"name": "analytics.js", "version": "4.1.0"},
           "userAgent": "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36"}
    track = {"type": "track", "userId": "u1", "anonymousId": "a1", "event": "Order Completed", "messageId": "m-1",
             "timestamp": "2024-01-02T03:04:05.678Z", "properties": {"revenue": 9.5, "products": [{"sku": "x"}], "Order ID": "o1"},
             "context": ctx}
    identify = {"type": "identify", "userId": "u1", "traits": {"email": "a@b.c", "address": {"city": "SH"}, "id": 7},
                "originalTimestamp": "2024-01-02T11:04:05+08:00"}
    page = {"type": "page", "anonymousId": "a1", "name": "Home", "properties": {"url": "https://x/", "title": "T", "path": "/", "referrer": ""}}
    screen = {"type": "screen", "userId": "u1", "name": "Cart", "sentAt": "2024-01-02T03:04:05Z"}
    alias = {"type": "alias", "userId": "u1", "previousId": "a1"}
    group = {"type": "group", "userId": "u1", "groupId": "g1", "traits": {"name": "Acme", "employees": 10}}
    for name, msg in [("track", track), ("identify", identify), ("page", page), ("screen", screen), ("alias", alias), ("group", group)]:
        write(t, name, name + "\n" + json.dumps(msg))
    write(t, "batch", "batch\n" + json.dumps({"batch": [track, identify, page, screen, alias, group], "context": ctx}))
    write(t, "batch_errors", "batch\n" + json.dumps({"batch": [{"type": "track", "event": "x"}, {"type": "bogus"}, 5, {"userId": "u"}]}))
    write(t, "bad_timestamp", "track\n" + json.dumps({"userId": "u", "event": "E", "timestamp": "2024-13-45T99:99:99+99:99"}))
    write(t, "no_batch", "batch\n{}")
    write(t, "not_json", "track\n{nope")
    write(t, "unknown_kind", "frobnicate\n{}")
    write(t, "safari_ua", "track\n" + json.dumps({"userId": "u", "event": "E", "context": {"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1"}}))

def compact(value): return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
def stem(path): return os.path.splitext(os.path.basename(path))[0].replace("-", "_")
def repo_json(pattern): return [(stem(p), json.load(open(p, encoding="utf-8"))) for p in sorted(glob.glob(os.path.join(REPO, pattern)))]

MINI_JOURNEY = {"name": "mini", "entry": {"type": "event", "event": "E"}, "start": "a",
                "nodes": {"a": {"type": "send", "channel": "sms", "template": "t", "next": "x"}, "x": {"type": "exit"}}}

def journey():
    t = "fuzz_journey_definition"
    bundles = repo_json("examples/journeys/*.json")
    for name, bundle in bundles:
        write(t, "example_" + name, json.dumps(bundle["journey"], ensure_ascii=False, indent=1))
    base = bundles[0][1]["journey"] if bundles else MINI_JOURNEY
    text = compact(base)
    write(t, "mini", compact(MINI_JOURNEY))
    def variant(name, change):
        j = json.loads(compact(MINI_JOURNEY)); change(j); write(t, name, compact(j))
    variant("entry_api", lambda j: j.update(entry={"type": "api"}))
    variant("entry_segment_exit", lambda j: j.update(entry={"type": "segment_exit", "segment": "s"}))
    variant("entry_schedule_monthly", lambda j: j.update(entry={"type": "schedule", "segment": "s", "every": "monthly", "day_of_month": 31, "at": "23:59"}))
    variant("wait_kinds", lambda j: j["nodes"].update(
        a={"type": "wait", "duration": "1h", "next": "b"},
        b={"type": "wait", "until": {"time": "09:30", "weekdays": [1, 2, 3, 4, 5]}, "next": "c"},
        c={"type": "wait", "event": "Buy", "where": [{"property": "amount", "op": ">", "value": 1}], "timeout": "2d", "next": "x", "timeout_next": "x"}))
    variant("update_profile_webhook_goal", lambda j: j["nodes"].update(
        a={"type": "update_profile", "set": {"stage": "warm", "score": 3, "vip": True}, "next": "w"},
        w={"type": "webhook", "channel": "hooks", "payload": {"k": [1, 2]}, "next": "g"},
        g={"type": "goal", "next": "x"}))
    variant("split_nested", lambda j: j["nodes"].update(
        a={"type": "split", "condition": {"all": [{"not": {"tag": "t", "op": "=", "value": "A"}},
                                                    {"any": [{"segment": "s"}, {"profile": "age", "op": "between", "value": [1, 9]}]}]},
           "yes": "x", "no": "x"}))
    def deep(depth):
        c = {"profile": "p", "op": "is_set"}
        for _ in range(depth): c = {"not": c}
        return c
    variant("split_too_deep", lambda j: j["nodes"].update(a={"type": "split", "condition": deep(20), "yes": "x", "no": "x"}))
    variant("ab_weights", lambda j: j["nodes"].update(a={"type": "ab", "branches": [{"name": "p", "weight": 0.5, "next": "x"}, {"name": "q", "weight": 1e308, "next": "x"}]}))
    variant("start_unknown", lambda j: j.update(start="nope"))
    variant("next_unknown", lambda j: j["nodes"]["a"].update(next="nope"))
    variant("unreachable", lambda j: j["nodes"].update(z={"type": "exit"}))
    variant("cycle_no_exit", lambda j: j["nodes"].update(a={"type": "split", "condition": {"segment": "s"}, "yes": "x", "no": "b"},
                                                          b={"type": "wait", "duration": "1h", "next": "c"}, c={"type": "wait", "duration": "1h", "next": "b"}))
    variant("self_loop", lambda j: j["nodes"]["a"].update(next="a"))
    variant("unknown_node_type", lambda j: j["nodes"]["a"].update(type="teleport"))
    variant("empty_node_id", lambda j: j["nodes"].update({"": {"type": "exit"}}))
    variant("nodes_array", lambda j: j.update(nodes=[{"type": "exit"}]))
    variant("priority_out_of_range", lambda j: j.update(priority=101, control_percent=-1))
    variant("bad_time_zone", lambda j: j.update(time_zone="Mars/Olympus"))
    variant("caps_reentry_schedule", lambda j: j.update(caps=[{"count": 1, "per": "1d"}, {"count": 0, "per": "0s"}], reentry={"mode": "cooldown", "cooldown": "99999999999d"}, schedule={"start_at": 5, "end_at": 4}))
    write(t, "duplicate_node_ids", compact(MINI_JOURNEY)[:-2] + ',"a":{"type":"exit"}}}')
    write(t, "truncated", text[: len(text) // 2])
    write(t, "bom", b"\xef\xbb\xbf" + compact(MINI_JOURNEY).encode())
    write(t, "invalid_utf8_name", compact(MINI_JOURNEY).replace('"mini"', '"\\u0000mi"').encode().replace(b"mi", b"m\xff", 1))
    write(t, "not_object", "[1,2,3]")
    write(t, "empty", "")

# Seeds of fuzz_audience_definition: '0' segment, '1' tag, '2' bare rule (first byte % 3).
EXAMPLE_RULE = {"all": [{"profile": "aum", "op": ">=", "value": 500000},
                        {"did": "BuyFund", "where": [{"property": "amount", "op": ">", "value": 10000}], "count": {"op": ">=", "value": 2}, "within": {"last": "30d"}},
                        {"not": {"tag": "risk_tier", "op": "in", "value": ["C1", "C2"]}}]}

def audience():
    t = "fuzz_audience_definition"
    for name, definition in repo_json("examples/audience/*.json"):
        write(t, name, ("1" if "-tag-" in name.replace("_", "-") else "0") + json.dumps(definition, ensure_ascii=False))
    seen = set()
    for name, bundle in repo_json("examples/journeys/*.json"):
        for index, segment in enumerate(bundle.get("segments", [])):
            key = compact(segment.get("rule"))
            if key in seen: continue
            seen.add(key)
            write(t, "journey_segment_%s_%d" % (name, index), "0" + compact(segment))
    segments = {
        "example_rule": {"name": "active_rich", "rule": EXAMPLE_RULE},
        "static": {"name": "VIP 名单", "description": "uploaded"},
        "refresh_every": {"name": "r", "rule": {"profile": "city", "op": "=", "value": "Shanghai"}, "refresh": {"every_minutes": 15}, "realtime": False},
        "refresh_daily": {"name": "r", "rule": {"segment": "12"}, "refresh": {"daily_at": "02:30"}},
        "refresh_manual": {"name": "r", "rule": {"all": [{"segment": "1"}, {"segment": "2"}]}, "refresh": "manual"},
        "err_no_name": {"rule": {"profile": "aum", "op": ">", "value": 1}},
        "err_bad_op": {"name": "a", "rule": {"all": [{"profile": "aum", "op": "bigger", "value": 1}]}},
        "err_count_value": {"name": "a", "rule": {"all": [{"did": "BuyFund", "count": {"op": ">=", "value": "two"}}]}},
        "err_within": {"name": "a", "rule": {"did": "BuyFund", "within": {"last": "30y"}}},
        "err_sequence_one": {"name": "a", "rule": {"sequence": [{"event": "A"}]}},
        "err_unknown_key": {"name": "a", "rule": {"wat": 1}},
        "err_daily_at": {"name": "a", "rule": {"profile": "aum", "op": "is_set"}, "refresh": {"daily_at": "25:61"}},
    }
    for name, body in segments.items(): write(t, "segment_" + name, "0" + compact(body))
    write(t, "segment_not_json", "0{not json")
    tags = {
        "statistic_count": {"name": "buys_30d", "category": "交易/申购", "kind": "statistic", "event": "BuyFund", "aggregate": "count", "within": {"last": "30d"}},
        "statistic_sum": {"name": "amount_30d", "kind": "statistic", "event": "BuyFund", "aggregate": "sum", "property": "amount", "within": {"last": "4w"}},
        "statistic_distinct_days": {"name": "kinds", "kind": "statistic", "event": "BuyFund", "aggregate": "distinct", "property": "fund_type", "within": {"from": "2026-01-01", "to": "2026-01-31"}},
        "first_last": {"name": "last_fund_type", "kind": "first_last", "event": "BuyFund", "which": "last", "property": "fund_type", "within": {"last": "12h"}},
        "preference": {"name": "favourite_type", "kind": "preference", "event": "BuyFund", "property": "fund_type", "where": [{"property": "amount", "op": ">", "value": 0}]},
        "rule": {"name": "aum_tier", "category": "资产", "kind": "rule", "status": "approved", "values": [{"value": "A", "rule": {"profile": "aum", "op": ">=", "value": 800000}}, {"value": "B", "rule": {"profile": "aum", "op": ">=", "value": 600000}}], "default": "C"},
        "imported": {"name": "risk_tier", "display_name": "风险等级", "category": "风险/适当性", "kind": "imported", "value_type": "STRING", "owner": "compliance"},
        "lookalike": {"name": "lal", "kind": "lookalike", "seed": "3", "model": {"size": 1000, "features": ["aum"]}, "schedule": {"every_minutes": 60}},
        "err_name": {"name": "1bad", "kind": "statistic", "event": "X"},
        "err_property": {"name": "ok", "kind": "statistic", "event": "X", "aggregate": "sum"},
        "err_kind": {"name": "ok", "kind": "nope"},
    }
    for name, body in tags.items(): write(t, "tag_" + name, "1" + compact(body))
    rules = {
        "example": EXAMPLE_RULE,
        "is_set": {"profile": "aum", "op": "is_set"},
        "did_not": {"did_not": "BuyFund", "within": {"last": "2d"}},
        "sum": {"did": "BuyFund", "sum": {"property": "amount", "op": ">=", "value": 40000}, "within": {"last": "30d"}},
        "count_zero": {"did": "NoSuchEvent", "count": {"op": "=", "value": 0}},
        "sequence": {"sequence": [{"event": "ViewFund"}, {"event": "BuyFund"}], "window": "1d", "within": {"last": "30d"}},
        "where_any": {"did": "BuyFund", "where": {"any": [{"property": "fund_type", "op": "=", "value": "money"}, {"property": "amount", "op": ">=", "value": 50000}]}},
        "any_event": {"did": "$any", "within": {"last": "90m"}},
        "deep": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"profile": "a", "op": "is_set"}}}}}}}}}}}}}}}}}}},
    }
    for name, body in rules.items(): write(t, "rule_" + name, "2" + compact(body))
    write(t, "rule_truncated", "2" + compact(EXAMPLE_RULE)[:60])
    write(t, "empty", "")

def query_spec():
    t = "fuzz_query_spec"
    for name, query in repo_json("examples/queries/*.json"):
        write(t, "example_" + name, json.dumps(query, ensure_ascii=False))
    # Golden cases: {...defaults, ...query}; the first few cases of each file with a new
    # shape (key paths and operators), to keep the corpus small.
    def shape(value, prefix=""):
        if isinstance(value, dict):
            out = set()
            for key, item in value.items():
                out.add(prefix + "." + key)
                out |= shape(item, prefix + "." + key)
            return out
        if isinstance(value, list):
            out = set()
            for item in value: out |= shape(item, prefix + "[]")
            return out
        return {prefix + "=" + value} if isinstance(value, str) and prefix.endswith((".op", ".type", ".aggregator", ".unit", ".interval")) else set()
    shapes = set()
    for name, golden in repo_json("tests/golden/*.json"):
        taken = 0
        for index, case in enumerate(golden["cases"]):
            if "body" in case:
                write(t, "golden_%s_%d" % (name, index), case["body"])
                continue
            if "query" not in case: continue
            query = dict(golden.get("defaults", {}), **case["query"])
            s = frozenset(shape(query))
            if s in shapes or taken >= 6: continue
            shapes.add(s)
            taken += 1
            write(t, "golden_%s_%d" % (name, index), compact(query))
    write(t, "nested_filter_too_deep", compact({"type": "events", "last": "7d", "measures": [{"event": "E"}],
                                                 "filter": json.loads('{"not":' * 20 + '{"property":"event.a","op":"=","value":1}' + "}" * 20)}))
    write(t, "truncated", '{"type": "funnel", "last": "30d", "steps": [{"event"')
    write(t, "not_object", '"events"')
    write(t, "empty", "")

# Seeds of fuzz_csv_import: byte 0 = kind | delimiter << 2 ('@' events ',', 'A' profiles ',',
# 'B' items ',', 'D' events ';', 'H' events tab), then the mapping line, then the CSV.
DOC_MAPPING = {"id_column": "cust_no", "id_key": "$identity_login_id", "event": "deposit", "time_column": "tx_time",
               "time_format": "%Y-%m-%d %H:%M:%S", "time_zone": "Asia/Shanghai",
               "types": {"amount": "NUMBER", "branch_code": "STRING"}, "rename": {"chan": "channel"}, "skip": ["operator_id"],
               "columns": {"tags": {"type": "LIST", "separator": ";"}, "open_dt": {"type": "DATE", "rename": "account_open_date", "format": "%Y%m%d"}, "vip": "BOOL"}}

def csv_import():
    t = "fuzz_csv_import"
    def seed(name, kind, mapping, csv):
        m = mapping if isinstance(mapping, str) else compact(mapping)
        write(t, name, kind.encode() + m.encode() + b"\n" + (csv if isinstance(csv, bytes) else csv.encode()))
    seed("doc_mapping", "@", DOC_MAPPING,
         "cust_no,tx_time,amount,branch_code,chan,operator_id,tags,open_dt,vip\n"
         "c1,2026-01-02 03:04:05,1200.50,0012,app,op1,a;b;;c,20240101,是\n"
         "c2,2026-01-02 03:04:06,\"1,234.5\",0013,web,op2,,20240230,no\n")
    seed("events_auto", "@", "", "distinct_id,event,time,price,flag,code\r\nu1,Buy,1767225600000,9.5,true,0012\r\nu2,View,1767225600,1e3,FALSE,12345678901234567890\r\n")
    seed("profiles_set_once", "A", {"profile_op": "profile_set_once", "infer_types": False}, "distinct_id,name,age\nu1,张三,30\n\nu2,\"Li, \"\"Junior\"\"\",\n")
    seed("items", "B", {"item_type": "fund"}, "item_id,name,risk\nf1,Fund \"A\",R2\nf2,,R5\n")
    seed("items_type_column", "B", {"item_type_column": "kind"}, "item_id,kind\nf1,fund\nf2,\n")
    seed("bom_crlf", "@", {"event": "E", "time_format": "epoch_ms"}, b"\xef\xbb\xbfdistinct_id,time\r\nu1,1767225600000\r\n")
    seed("embedded_newlines", "A", "{}", 'distinct_id,note\nu1,"line one\nline two"\nu2,"a ""quoted"" word"tail\n')
    seed("bad_utf8", "A", "{}", b"distinct_id,name\nu1,\xff\xfe\nu2,\xc0\x80\xed\xa0\x80\n\xe4\xb8,x\n")
    seed("unclosed_quote", "@", "", 'distinct_id,event,time\nu1,"E,1767225600000\n')
    seed("semicolon", "D", {"event": "E", "time_zone": "UTC", "time_format": "%d/%m/%Y %H:%M"}, "distinct_id;time;amount\nu1;02/01/2026 10:30;+12\nu2;31/02/2026 10:30;.5\n")
    seed("tab", "H", {"event": "E", "time_format": "%F %T%z"}, "distinct_id\ttime\nu1\t2026-01-02 03:04:05+08:00\nu2\t2026-01-02 03:04:05Z\n")
    seed("list_and_types", "A", {"columns": {"l": {"type": "LIST", "separator": "||"}, "d": "DATETIME", "n": "NUMBER", "b": "BOOL"}},
         "distinct_id,l,d,n,b\nu1,a||b|| c ,2026-01-02 03:04:05,1e999,y\nu2,||,20260102,NaN,maybe\n")
    seed("missing_id_column", "@", {"event": "E"}, "user,time\nu1,1\n")
    seed("wrong_field_count", "A", "{}", "distinct_id,a,b\nu1,1\nu2,1,2,3\nu3,1,2,\n")
    seed("bad_mapping", "@", '{"types": {"a": "FLOAT"}}', "distinct_id,a\nu1,1\n")
    seed("bad_time_zone", "@", {"time_zone": "Nowhere/City"}, "distinct_id,event,time\nu1,E,1\n")
    seed("records_kind", "C", "{}", "distinct_id\nu1\n")
    seed("trailing_delimiter", "A", "{}", "distinct_id,a,\nu1,1,")
    seed("empty_csv", "@", "", "")

# Seeds of fuzz_pii_masking: API answers (JSON), exports (CSV) and policies.
def pii():
    t = "fuzz_pii_masking"
    write(t, "user_answer", compact({"distinct_id": "u1", "profile": {"name": "张三", "phone": "13812345678", "id_card": "110101199001011234", "email": "zhang@example.com", "address": "上海市浦东新区世纪大道100号", "age": 30, "mobile": 13812345678},
                                     "identities": [{"key": "$identity_mobile", "value": "13812345678"}, {"key": "$identity_login_id", "value": "u1"}, {"key": "$identity_email", "value": 5}],
                                     "events": [{"event": "Buy", "properties": {"name": "X", "real_name": None, "$email": True}}]}))
    write(t, "users_page", compact({"users": [{"distinct_id": "u%d" % i, "profile": {"name": "A" * i, "phone": "1" * i}} for i in range(1, 12)], "next": None}))
    write(t, "nested_profile", compact({"a": [{"profile": {"profile": {"name": "x"}, "properties": [1, {"phone": "12345678"}]}}]}))
    write(t, "numbers", '{"profile":{"phone":-1.5e300,"id_card":123456789012345678901234567890,"name":0,"email":1e-7}}')
    write(t, "escapes", '{"profile":{"na\\u006de":"\\ud83d\\ude00\\u0000\\"","email":"@x","address":"\\u4e0a"}}')
    write(t, "not_json", "{\"profile\": {\"name\": ")
    write(t, "csv_export", "distinct_id,name,phone,city\nu1,张三,13812345678,Shanghai\nu2,\"Li, Si\",\"138\"\"1234\"\"5678\",\r\nu3,,,\n")
    write(t, "csv_no_pii", "a,b\n1,2\n")
    write(t, "csv_ragged", 'name,phone\nx\n"unclosed,1\n')
    write(t, "policy", compact({"fields": {"cust_no": "id_card", "phone": "none", "wechat": "secret", "addr": "address"}}))
    write(t, "policy_bad_kind", compact({"fields": {"x": "ssn"}}))
    write(t, "policy_long_name", compact({"fields": {"x" * 101: "phone"}}))
    write(t, "policy_fields_array", '{"fields": ["phone"]}')
    write(t, "bad_utf8", b'{"profile":{"name":"\xe5\xbc\xa0\xff"}}')
    write(t, "empty", "")

if __name__ == "__main__":
    sensors(); native(); segment(); journey(); audience(); query_spec(); csv_import(); pii()
