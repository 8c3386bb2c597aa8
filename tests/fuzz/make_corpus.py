#!/usr/bin/env python3
"""Regenerates the hand-written seed corpora (tests/fuzz/corpus/<target>/seed_*).

Seeds follow protocol §1.6 (curl encodings a–g), §3 (node SDK record) and §4 (web SDK),
plus deliberately broken inputs. Crash reproducers found by fuzzing are added as
crash-* files by hand and are never touched by this script.
"""
import base64, gzip, json, os, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
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

if __name__ == "__main__":
    sensors(); native(); segment()
