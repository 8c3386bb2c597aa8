#!/usr/bin/env python3
"""Writes bench/segments/definitions.json (run once by hand; the JSON is what the benchmark reads).

Kept as a script so the 50 segments / 20 tags / set-algebra rules stay readable and consistent.
Strings "$END" / "$END-N" in rules are replaced by run.py with the data set's last day (minus N
days) as YYYY-MM-DD; {"segment": "@name"} leaves by the id of the segment created under that name.
"""
import json
import os

L = lambda n: {"last": f"{n}d"}  # noqa: E731


def did(event, within, where=None, count=None, sum_=None):
    r = {"did": event, "within": within}
    if where:
        r["where"] = where
    if count:
        r["count"] = {"op": count[0], "value": count[1]}
    if sum_:
        r["sum"] = {"property": sum_[0], "op": sum_[1], "value": sum_[2]}
    return r


def prof(name, op, value=None):
    r = {"profile": name, "op": op}
    if value is not None:
        r["value"] = value
    return r


def tag(name, op, value=None):
    r = {"tag": name, "op": op}
    if value is not None:
        r["value"] = value
    return r


def w(prop, op, value):
    return {"property": prop, "op": op, "value": value}


def seq(events, window, within):
    return {"sequence": [{"event": e} for e in events], "window": window, "within": within}


A = lambda *xs: {"all": list(xs)}  # noqa: E731
ANY = lambda *xs: {"any": list(xs)}  # noqa: E731
NOT = lambda x: {"not": x}  # noqa: E731
TIER1 = ["Beijing", "Shanghai", "Guangzhou", "Shenzhen"]

tags = [
    {"name": "deposits_30d", "kind": "statistic", "event": "Deposit", "aggregate": "sum", "property": "amount", "within": L(30)},
    {"name": "buy_count_30d", "kind": "statistic", "event": "BuyFund", "aggregate": "count", "within": L(30)},
    {"name": "buy_amount_90d", "kind": "statistic", "event": "BuyFund", "aggregate": "sum", "property": "amount", "within": L(90)},
    {"name": "avg_buy_amount_90d", "kind": "statistic", "event": "BuyFund", "aggregate": "avg", "property": "amount", "within": L(90)},
    {"name": "max_buy_amount_30d", "kind": "statistic", "event": "BuyFund", "aggregate": "max", "property": "amount", "within": L(30)},
    {"name": "min_deposit_90d", "kind": "statistic", "event": "Deposit", "aggregate": "min", "property": "amount", "within": L(90)},
    {"name": "fund_types_bought_90d", "kind": "statistic", "event": "BuyFund", "aggregate": "distinct", "property": "fund_type", "within": L(90)},
    {"name": "app_starts_7d", "kind": "statistic", "event": "AppStart", "aggregate": "count", "within": L(7)},
    {"name": "articles_30d", "kind": "statistic", "event": "ReadArticle", "aggregate": "count", "within": L(30)},
    {"name": "big_buys_30d", "kind": "statistic", "event": "BuyFund", "aggregate": "count", "where": [w("amount", ">", 10000)], "within": L(30)},
    {"name": "first_buy_time", "kind": "first_last", "event": "BuyFund", "which": "first"},
    {"name": "last_buy_time", "kind": "first_last", "event": "BuyFund", "which": "last"},
    {"name": "last_buy_fund_type", "kind": "first_last", "event": "BuyFund", "which": "last", "property": "fund_type"},
    {"name": "first_deposit_amount", "kind": "first_last", "event": "Deposit", "which": "first", "property": "amount"},
    {"name": "last_app_start", "kind": "first_last", "event": "AppStart", "which": "last"},
    {"name": "fav_fund_type_90d", "kind": "preference", "event": "ViewFund", "property": "fund_type", "within": L(90)},
    {"name": "fav_buy_fund_type_30d", "kind": "preference", "event": "BuyFund", "property": "fund_type", "within": L(30)},
    {"name": "risk_tier", "kind": "rule", "values": [
        {"value": "aggressive", "rule": prof("risk_level", "in", ["C4", "C5"])},
        {"value": "balanced", "rule": prof("risk_level", "=", "C3")}], "default": "conservative"},
    {"name": "value_tier", "kind": "rule", "values": [
        {"value": "high", "rule": prof("aum", ">=", 1000000)},
        {"value": "mid", "rule": prof("aum", ">=", 100000)}], "default": "low"},
    {"name": "lifecycle", "kind": "rule", "values": [
        {"value": "active_buyer", "rule": did("BuyFund", L(30))},
        {"value": "lapsed", "rule": A(did("BuyFund", L(90)), NOT(did("BuyFund", L(30))))},
        {"value": "prospect", "rule": did("ViewFund", L(30))}], "default": "dormant"},
]

S = []


def seg(name, kind, rule, realtime=False):
    S.append({"name": name, "kind": kind, "rule": rule, "realtime": realtime})


# profile only
seg("aum_1m_plus", "profile", prof("aum", ">=", 1000000))
seg("aum_100k_1m", "profile", prof("aum", "between", [100000, 1000000]))
seg("aum_under_10k", "profile", prof("aum", "<", 10000))
seg("vip", "profile", prof("is_vip", "=", True))
seg("vip_high_risk", "profile", A(prof("is_vip", "=", True), prof("risk_level", "in", ["C4", "C5"])))
seg("conservative_rich", "profile", A(prof("aum", ">=", 500000), prof("risk_level", "in", ["C1", "C2"])))
seg("young_aggressive", "profile", A(prof("age", "between", [18, 30]), prof("risk_level", "in", ["C4", "C5"])))
seg("tier1_vip", "profile", A(prof("city", "in", TIER1), prof("is_vip", "=", True)))
seg("seniors_c1", "profile", A(prof("age", ">=", 60), prof("risk_level", "=", "C1")))
seg("non_tier1_mid_aum", "profile", A(prof("city", "not_in", TIER1), prof("aum", "between", [50000, 500000])))
# behaviour
seg("active_7d", "behaviour", did("AppStart", L(7)), True)
seg("active_30d_not_7d", "behaviour", A(did("AppStart", L(30)), NOT(did("AppStart", L(7)))))
seg("dormant_30d", "behaviour", NOT(did("AppStart", L(30))))
seg("buyers_30d", "behaviour", did("BuyFund", L(30)), True)
seg("buyers_3x_30d", "behaviour", did("BuyFund", L(30), count=(">=", 3)), True)
seg("big_buyers_30d", "behaviour", did("BuyFund", L(30), [w("amount", ">", 10000)], (">=", 2)), True)
seg("buy_sum_50k_30d", "behaviour", did("BuyFund", L(30), sum_=("amount", ">=", 50000)), True)
seg("depositors_30d", "behaviour", did("Deposit", L(30)), True)
seg("lapsed_depositors", "behaviour", A(did("Deposit", L(90)), NOT(did("Deposit", L(30)))))
seg("deposit_no_buy_30d", "behaviour", A(did("Deposit", L(30)), NOT(did("BuyFund", L(30)))))
seg("read_never_bought_90d", "behaviour", A(did("ReadArticle", L(90)), NOT(did("BuyFund", L(90)))))
seg("readers_5x_30d", "behaviour", did("ReadArticle", L(30), count=(">=", 5)))
seg("viewed_not_bought_7d", "behaviour", A(did("ViewFund", L(7)), NOT(did("BuyFund", L(7)))))
seg("watch_no_order_30d", "behaviour", A(did("AddWatch", L(30)), NOT(did("ConfirmOrder", L(30)))))
seg("stock_fund_buyers_30d", "behaviour", did("BuyFund", L(30), [w("fund_type", "=", "stock")]))
seg("redeemers_7d", "behaviour", did("Redeem", L(7)))
seg("coupon_no_buy_30d", "behaviour", A(did("ReceiveCoupon", L(30)), NOT(did("BuyFund", L(30)))))
seg("loan_interest", "behaviour", ANY(did("ViewLoan", L(30)), did("ApplyLoan", L(90))))
seg("new_accounts_30d", "behaviour", did("OpenAccount", L(30)))
seg("card_no_deposit_90d", "behaviour", A(did("BindCard", L(90)), NOT(did("Deposit", L(90)))))
seg("sept_buyers_fixed", "behaviour", did("BuyFund", {"from": "$END-59", "to": "$END-30"}))
# sequences
seg("view_then_buy_1d", "sequence", seq(["ViewFund", "BuyFund"], "1d", L(30)))
seg("read_view_buy_7d", "sequence", seq(["ReadArticle", "ViewFund", "BuyFund"], "7d", L(30)))
seg("deposit_then_buy_1d", "sequence", seq(["Deposit", "BuyFund"], "1d", L(90)))
seg("risk_test_then_buy_7d", "sequence", seq(["SubmitRiskTest", "BuyFund"], "7d", L(90)))
# profile + behaviour
seg("big_buyers_rich_30d", "mixed", A(did("BuyFund", L(30), [w("amount", ">", 10000)], (">=", 2)), prof("aum", ">=", 500000)), True)
seg("qdii_viewers_rich", "mixed", A(did("ViewFund", L(30), [w("fund_type", "=", "qdii")]), prof("aum", ">=", 300000)))
seg("outflow_no_deposit", "mixed", A(did("Withdraw", L(30), sum_=("amount", ">=", 20000)), NOT(did("Deposit", L(30)))))
seg("insurance_prospects", "mixed", A(did("ViewInsurance", L(30)), NOT(did("BuyInsurance", L(90))), prof("age", "between", [30, 55])))
seg("vip_service_contacts", "mixed", A(did("ContactService", L(30)), prof("is_vip", "=", True)))
seg("vip_or_rich_active", "mixed", A(ANY(prof("is_vip", "=", True), prof("aum", ">=", 1000000)), did("AppStart", L(30))))
seg("rich_churn_risk", "mixed", A(prof("aum", ">=", 500000), did("AppStart", L(90)), NOT(did("AppStart", L(14)))))
seg("campaign_balanced_mid", "mixed", A(prof("risk_level", "in", ["C3", "C4"]), prof("aum", "between", [50000, 1000000]),
                                        did("ViewFund", L(30)), NOT(did("BuyFund", L(14))),
                                        prof("city", "in", TIER1 + ["Hangzhou", "Chengdu", "Nanjing"])))
# tags
seg("high_value_tag", "tag", tag("value_tier", "=", "high"))
seg("aggressive_active_tag", "tag", A(tag("risk_tier", "=", "aggressive"), did("AppStart", L(7))))
seg("lapsed_buyers_tag", "tag", tag("lifecycle", "=", "lapsed"))
seg("big_depositors_tag", "tag", tag("deposits_30d", ">=", 50000))
seg("stock_lovers_no_buy_tag", "tag", A(tag("fav_fund_type_90d", "in", ["stock", "index"]), NOT(did("BuyFund", L(30)))))
seg("frequent_buyers_tag", "tag", A(tag("buy_count_30d", ">=", 5), prof("aum", ">=", 100000)))
seg("never_bought_tag", "tag", A(tag("last_buy_time", "not_set"), did("AppStart", L(30))))

assert len(S) == 50, len(S)
assert len(tags) == 20
assert len({s["name"] for s in S}) == 50

algebra = [
    {"name": "vip ∧ buyers_30d ∧ ¬dormant_30d", "rule": A({"segment": "@vip"}, {"segment": "@buyers_30d"}, NOT({"segment": "@dormant_30d"}))},
    {"name": "aum_1m_plus ∨ vip", "rule": ANY({"segment": "@aum_1m_plus"}, {"segment": "@vip"})},
    {"name": "big_buyers_30d ∧ ¬conservative_rich", "rule": A({"segment": "@big_buyers_30d"}, NOT({"segment": "@conservative_rich"}))},
    {"name": "active_7d ∧ ¬buyers_30d", "rule": A({"segment": "@active_7d"}, NOT({"segment": "@buyers_30d"}))},
    {"name": "depositors_30d ∨ buyers_30d ∨ readers_5x_30d", "rule": ANY({"segment": "@depositors_30d"}, {"segment": "@buyers_30d"}, {"segment": "@readers_5x_30d"})},
    {"name": "(view_then_buy_1d ∨ deposit_then_buy_1d) ∧ ¬vip", "rule": A(ANY({"segment": "@view_then_buy_1d"}, {"segment": "@deposit_then_buy_1d"}), NOT({"segment": "@vip"}))},
    {"name": "tier1_vip ∧ high_value_tag", "rule": A({"segment": "@tier1_vip"}, {"segment": "@high_value_tag"})},
    {"name": "¬dormant_30d", "rule": NOT({"segment": "@dormant_30d"})},
    {"name": "active_30d_not_7d ∧ lapsed_depositors ∧ ¬read_never_bought_90d", "rule": A({"segment": "@active_30d_not_7d"}, {"segment": "@lapsed_depositors"}, NOT({"segment": "@read_never_bought_90d"}))},
    {"name": "(young_aggressive ∧ buyers_30d) ∨ (seniors_c1 ∧ depositors_30d)", "rule": ANY(A({"segment": "@young_aggressive"}, {"segment": "@buyers_30d"}), A({"segment": "@seniors_c1"}, {"segment": "@depositors_30d"}))},
]

out = {
    "comment": "Generated by make_definitions.py. Segments are created in this order (tags first); "
               "'$END' / '$END-N' = the data set's last day (minus N days); '@name' = id of that segment.",
    "tags": tags,
    "segments": S,
    "algebra": algebra,
    "latency_segment": "buyers_3x_30d",
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "definitions.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"wrote {path}: {len(tags)} tags, {len(S)} segments, {len(algebra)} set-algebra rules")
