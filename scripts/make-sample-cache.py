#!/usr/bin/env python3
"""Generate the committed sample cache, SampleCache/.

The sample is the offline cache of a fictional Auckland MSP, Northwind MSP Ltd, as BillingOne's
finance client would leave it: a Sync All at 2026-11-21T17:42:05Z, two collections left stale, then an
evening offline on the train with three writes queued and one write that already failed for good.
docs/sample-cache.md describes the story and lists the ids tests and docs rely on.

Standard library only. The output is deterministic: a fixed seed, fixed dates, ids hashed from keys such
as a client's name or an invoice number rather than drawn from the random stream, and files written exactly as b1cache writes
them: json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\\n". Money is computed in integer
cents and written as a number with at most two decimals (an integral amount as an integer, 15 not 15.0).

    python3 scripts/make-sample-cache.py              # (re)write SampleCache/ at the top of the repository
    python3 scripts/make-sample-cache.py --out DIR    # write the sample somewhere else
    python3 scripts/make-sample-cache.py --check      # exit 1 if SampleCache/ differs from what the script makes
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone

SEED = 20261121

ACCOUNT = {"orgId": "org_7f3k2m9q", "userId": "usr_4h8d1x", "email": "dana.whitfield@northwind-msp.co.nz"}

UTC = timezone.utc
LAST_SYNC_ALL = datetime(2026, 11, 21, 17, 42, 5, tzinfo=UTC)
AS_OF = datetime(2026, 11, 21, tzinfo=UTC)  # the day the dashboard's aging is computed for
AUD_TO_NZD = 10915  # 1 AUD = 1.0915 NZD, in ten-thousandths

# Collections, in SPEC §3 order: revision and syncedAt of each envelope. Fresh collections were written by
# the Sync All and carry its exact time (stale means strictly older than lastSyncAllAt).
COLLECTIONS = [
    ("dashboard", 57, LAST_SYNC_ALL),
    ("subscriptions", 31, datetime(2026, 11, 20, 8, 3, 11, tzinfo=UTC)),  # stale by both rules
    ("invoices", 42, LAST_SYNC_ALL),
    ("clients", 18, LAST_SYNC_ALL),
    ("contracts", 27, LAST_SYNC_ALL),
    ("missed-billing", 64, LAST_SYNC_ALL),
    ("generated-invoices", 23, LAST_SYNC_ALL),
    ("settings", 6, LAST_SYNC_ALL),
    ("integrations", 12, datetime(2026, 11, 21, 6, 15, 40, tzinfo=UTC)),  # stale: before the Sync All
]
PARTIAL = {"settings", "integrations"}

TAX = {"OUTPUT2": 15, "OUTPUT": 10, "EXEMPTOUTPUT": 0, "ZERORATEDOUTPUT": 0}
DEFAULT_TAX = {"NZ": "OUTPUT2", "AU": "OUTPUT"}
CURRENCY = {"NZ": "NZD", "AU": "AUD"}

# ---------------------------------------------------------------------------------------------------------
# helpers


def iso(moment):
    """ISO 8601 UTC, whole seconds: 2026-11-21T17:42:05Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(moment):
    """ISO 8601 UTC with milliseconds: 2026-11-21T18:24:09.512Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def day(year, month, dom):
    return datetime(year, month, dom, tzinfo=UTC)


def add_months(moment, months):
    index = moment.year * 12 + (moment.month - 1) + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)


def money(cents):
    """A JSON number in major units: an int when integral, else a float with at most two decimals."""
    assert isinstance(cents, int)
    if cents % 100 == 0:
        return cents // 100
    value = cents / 100
    assert repr(value) == "%s%d.%s" % ("-" if cents < 0 else "", abs(cents) // 100,
                                      ("%02d" % (abs(cents) % 100)).rstrip("0")), cents
    return value


def tax_cents(amount_cents, rate):
    """Tax on an amount, rounded half up to the cent (amounts are never negative here)."""
    return (amount_cents * rate + 50) // 100


def to_nzd(cents, currency):
    return cents if currency == "NZD" else (cents * AUD_TO_NZD + 5000) // 10000


ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_issued = {}


def make_id(prefix, *key):
    """A stable id from a stable key: prefix + 10 base-32 characters of sha256(key)."""
    text = "|".join(str(part) for part in key)
    number = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    chars = []
    for _ in range(10):
        chars.append(ALPHABET[number & 31])
        number >>= 5
    ident = prefix + "_" + "".join(chars)
    assert _issued.setdefault(ident, text) == text, "id collision: " + ident
    return ident


def stable_uuid(*key):
    """A lowercase version-4-shaped UUID derived from a stable key."""
    digest = hashlib.sha256(("uuid|" + "|".join(str(part) for part in key)).encode("utf-8")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def slug(text):
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return "".join(ch for ch in ascii_text if ch.isalnum())


def dumps(obj):
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------------------
# reference data

# (key, vendor, product name, Pax8 SKU, NZD sell, NZD cost, AUD sell, AUD cost) — prices per unit per month, cents
PRODUCTS = {
    "m365-bp": ("Microsoft", "Microsoft 365 Business Premium", "MST-M365-BP-NCE", 3990, 3473, 3660, 3290),
    "m365-bs": ("Microsoft", "Microsoft 365 Business Standard", "MST-M365-BS-NCE", 2190, 1908, 2010, 1800),
    "m365-bb": ("Microsoft", "Microsoft 365 Business Basic", "MST-M365-BB-NCE", 1050, 915, 960, 860),
    "exo-p1": ("Microsoft", "Exchange Online (Plan 1)", "MST-EXO-P1-NCE", 690, 605, 640, 570),
    "defender": ("Microsoft", "Microsoft Defender for Business", "MST-DFB-NCE", 540, 470, 500, 440),
    "pbi-pro": ("Microsoft", "Power BI Pro", "MST-PBI-PRO-NCE", 1790, 1540, 1650, 1450),
    "azure": ("Microsoft", "Azure plan — consumption", "MST-AZR-PLAN", 0, 0, 0, 0),
    "acr-ws": ("Acronis", "Acronis Cyber Protect Cloud — workstation backup", "ACR-CPC-WS", 850, 590, 790, 550),
    "acr-srv": ("Acronis", "Acronis Cyber Protect Cloud — server backup", "ACR-CPC-SRV", 4200, 2950, 3900, 2740),
    "acr-m365": ("Acronis", "Acronis Cyber Protect Cloud — Microsoft 365 backup", "ACR-CPC-M365", 390, 260, 360, 240),
    "s1": ("SentinelOne", "SentinelOne Singularity Control", "S1-SNG-CTRL", 980, 690, 910, 640),
    "keeper": ("Keeper Security", "Keeper Business", "KPR-BUS", 650, 480, 600, 445),
}
ADDON_POOL = ["exo-p1", "defender", "pbi-pro", "azure", "acr-ws", "acr-srv", "acr-m365", "s1", "keeper"]

TIERS = [("Essentials", 7900), ("Professional", 9500), ("Premium", 11900)]  # managed services per user per month

# (name, city, region, country, users, category, core plan, forced add-ons)
# categories: active (active contract), expired (contract ended, subscriptions still running),
# onboarding (draft contract only), inactive (left; subscriptions cancelled), project (ad-hoc work, no contract)
CLIENTS = [
    ("Harbourside Dental Ltd", "Auckland", "Auckland", "NZ", 14, "active", "m365-bp", ["acr-ws"]),
    ("Kauri Coast Accounting Ltd", "Dargaville", "Northland", "NZ", 9, "active", "m365-bs", []),
    ("Southern Alps Engineering Ltd", "Christchurch", "Canterbury", "NZ", 42, "active", "m365-bp", ["acr-srv"]),
    ("Tasman Legal", "Nelson", "Nelson", "NZ", 18, "active", "m365-bp", ["acr-m365"]),
    ("Riverbend Veterinary Clinic Ltd", "Hamilton", "Waikato", "NZ", 12, "active", "m365-bs", ["acr-ws"]),
    ("Whānau Ora Health Trust", "Rotorua", "Bay of Plenty", "NZ", 26, "active", "m365-bp", []),
    ("Pōneke Architecture Ltd", "Wellington", "Wellington", "NZ", 11, "active", "m365-bs", ["azure"]),
    ("Ōtaki Surf & Outdoor Ltd", "Ōtaki", "Wellington", "NZ", 6, "active", "m365-bb", []),
    ("Hawke's Bay Orchards Ltd", "Hastings", "Hawke's Bay", "NZ", 21, "active", "m365-bs", []),
    ("Te Awamutu Motors Ltd", "Te Awamutu", "Waikato", "NZ", 8, "expired", "m365-bs", ["acr-ws"]),
    ("Ponsonby Physio Ltd", "Auckland", "Auckland", "NZ", 7, "active", "m365-bb", []),
    ("Coromandel Property Management Ltd", "Whitianga", "Waikato", "NZ", 10, "active", "m365-bs", ["acr-ws"]),
    ("Manawatū Freight Ltd", "Palmerston North", "Manawatū-Whanganui", "NZ", 33, "active", "m365-bp", []),
    ("Queenstown Alpine Lodges Ltd", "Queenstown", "Otago", "NZ", 24, "active", "m365-bs", []),
    ("Marlborough Vintners Collective Ltd", "Blenheim", "Marlborough", "NZ", 15, "active", "m365-bp", []),
    ("Dunedin Print & Design Ltd", "Dunedin", "Otago", "NZ", 5, "inactive", "m365-bb", []),
    ("Northcote Early Learning Centre", "Auckland", "Auckland", "NZ", 19, "active", "m365-bb", []),
    ("Taranaki Agricultural Supplies Ltd", "New Plymouth", "Taranaki", "NZ", 28, "active", "m365-bs", []),
    ("Wairarapa Rural Vets Ltd", "Masterton", "Wellington", "NZ", 13, "active", "m365-bp", []),
    ("Bay of Plenty Building Co Ltd", "Tauranga", "Bay of Plenty", "NZ", 22, "active", "m365-bs", []),
    ("Kāpiti Coast Chartered Accountants Ltd", "Paraparaumu", "Wellington", "NZ", 8, "onboarding", "m365-bp",
     ["acr-m365"]),
    ("Newmarket Optometrists Ltd", "Auckland", "Auckland", "NZ", 9, "active", "m365-bs", []),
    ("Invercargill Engineering Supplies Ltd", "Invercargill", "Southland", "NZ", 17, "active", "m365-bb", []),
    ("Waikato Dairy Consultants Ltd", "Cambridge", "Waikato", "NZ", 6, "active", "m365-bp", []),
    ("Central Otago Cycle Hire Ltd", "Alexandra", "Otago", "NZ", 4, "project", None, []),
    ("Napier Art Deco Tours Ltd", "Napier", "Hawke's Bay", "NZ", 3, "project", None, []),
    ("Petone Brewing Company Ltd", "Lower Hutt", "Wellington", "NZ", 16, "onboarding", "m365-bs", ["acr-ws"]),
    ("Takapuna Family Law", "Auckland", "Auckland", "NZ", 11, "active", "m365-bp", []),
    ("Greymouth Mining Services Ltd", "Greymouth", "West Coast", "NZ", 7, "project", None, []),
    ("Whangārei Marine Electrical Ltd", "Whangārei", "Northland", "NZ", 12, "active", "m365-bs", []),
    ("Bondi Physiotherapy Pty Ltd", "Sydney", "NSW", "AU", 10, "active", "m365-bs", []),
    ("Fremantle Freight Forwarding Pty Ltd", "Fremantle", "WA", "AU", 23, "active", "m365-bp", []),
    ("Yarra Valley Cellars Pty Ltd", "Healesville", "VIC", "AU", 9, "expired", "m365-bs", ["keeper"]),
    ("Northside Plumbing Group Pty Ltd", "Brisbane", "QLD", "AU", 31, "active", "m365-bb", []),
    ("Salamanca Marine Pty Ltd", "Hobart", "TAS", "AU", 5, "project", None, []),
    ("Parramatta Family Law Pty Ltd", "Parramatta", "NSW", "AU", 14, "active", "m365-bp", []),
]

FIRST_NAMES = ["Aroha", "Ben", "Charlotte", "Daniel", "Ella", "Finn", "Georgia", "Hemi", "Isla", "Jack",
               "Kiri", "Liam", "Mere", "Noah", "Olivia", "Priya", "Quinn", "Rawiri", "Sophie", "Tama",
               "Uma", "Vikram", "Wiremu", "Xavier", "Yasmin", "Zoe", "Mia", "Oscar", "Hannah", "Sam"]
LAST_NAMES = ["Anderson", "Brown", "Chen", "Davies", "Edwards", "Fraser", "Gill", "Harris", "Ngata", "Jones",
              "Kaur", "Leong", "McKenzie", "Nguyen", "O'Brien", "Patel", "Reid", "Singh", "Tane", "Walker",
              "Wilson", "Young", "Parata", "Kim", "Taylor", "Murphy", "Thompson", "Lee", "Smith", "Cooper"]

# Named entities whose ids docs/sample-cache.md lists.
HARBOURSIDE = "Harbourside Dental Ltd"       # two open missed-billing items, bulk-applied by pending write 3
PONEKE = "Pōneke Architecture Ltd"           # draft generated invoice with a zero-rated Azure line (write 2)
COROMANDEL = "Coromandel Property Management Ltd"  # open missed-billing item snoozed by pending write 1
RIVERBEND = "Riverbend Veterinary Clinic Ltd"  # untouched open missed-billing item, untouched draft invoice
TASMAN = "Tasman Legal"                      # contract with only active lines, approved generated invoice
BONDI = "Bondi Physiotherapy Pty Ltd"        # AU contract with a draft line taxed OUTPUT2: the failed write
SOUTHERN_ALPS = "Southern Alps Engineering Ltd"  # contract with an untouched draft line


def build(rng):
    clients, subs, contracts, missed, invoices, gis = [], [], [], [], [], []
    client_by_name = {}

    # -- clients -------------------------------------------------------------------------------------------
    for index, (name, city, region, country, users, category, core, forced) in enumerate(CLIENTS):
        cid = make_id("cl", "client", name)
        domain = slug(name.replace(" Ltd", "").replace(" Pty", "")) + (".co.nz" if country == "NZ" else ".com.au")
        first, last = FIRST_NAMES[index % 30], LAST_NAMES[(index * 7) % 30]
        created = day(2023, 3, 1) + timedelta(days=rng.randrange(0, 280), minutes=rng.randrange(0, 1440))
        if category == "onboarding":
            created = day(2026, 10, 1) + timedelta(days=rng.randrange(0, 40), minutes=rng.randrange(0, 1440))
        provider = "xero" if country == "NZ" else "quickbooks"
        client = {
            "id": cid,
            "name": name,
            "status": "inactive" if category == "inactive" else "active",
            "country": country,
            "city": city,
            "region": region,
            "currency": CURRENCY[country],
            "userCount": users,
            "primaryContact": {
                "name": "%s %s" % (first, last),
                "email": "%s.%s@%s" % (slug(first), slug(last), domain),
                "phone": ("+64 %d %03d %04d" % (rng.choice([3, 4, 6, 7, 9]), rng.randrange(200, 999),
                                                 rng.randrange(0, 10000))) if country == "NZ" else
                         ("+61 %d %04d %04d" % (rng.choice([2, 3, 7, 8]), rng.randrange(1000, 9999),
                                                 rng.randrange(0, 10000))),
            },
            "billingEmail": "accounts@" + domain,
            "accountingProvider": provider,
            "xeroContactId": stable_uuid("xero-contact", name) if provider == "xero" else None,
            "qboCustomerId": str(58 + index * 3) if provider == "quickbooks" else None,
            "pax8CompanyId": stable_uuid("pax8-company", name) if core else None,
            "paymentTerms": {"type": "OFFOLLOWINGMONTH", "day": 20},
            "tags": [category] if category in ("project", "onboarding") else [],
            "createdAt": iso(created),
            "updatedAt": iso(max(created, day(2026, 11, 1) + timedelta(minutes=rng.randrange(0, 28000)))),
        }
        client["_category"], client["_core"], client["_forced"] = category, core, forced
        clients.append(client)
        client_by_name[name] = client

    # -- subscriptions (Pax8) ------------------------------------------------------------------------------
    def price(key, currency, commitment):
        _, _, _, nz_sell, nz_cost, au_sell, au_cost = PRODUCTS[key]
        sell, cost = (nz_sell, nz_cost) if currency == "NZD" else (au_sell, au_cost)
        if commitment == "Monthly":  # NCE month-to-month costs 20% more
            sell, cost = (sell * 12 // 100) * 10, (cost * 12 // 100) * 10
        return sell, cost

    def add_sub(client, key, quantity, commitment="1-Year", status="active", n=1):
        vendor, product, sku, *_ = PRODUCTS[key]
        currency = client["currency"]
        if key == "azure":
            sell = rng.randrange(18000, 96000)
            cost = sell * 88 // 100
            commitment, quantity = "None", 1
        else:
            sell, cost = price(key, currency, commitment)
        start = day(2024, 3, 1) + timedelta(days=rng.randrange(0, 880))  # Pax8 connected 2024-02-19
        if client["_category"] == "onboarding":
            start = day(2026, 10, 20) + timedelta(days=rng.randrange(0, 25))
        start = start.replace(hour=rng.randrange(0, 24), minute=rng.randrange(0, 60), second=rng.randrange(0, 60))
        renewal = cancelled = None
        if status == "cancelled":
            cancelled = day(2026, 7, 3) + timedelta(hours=rng.randrange(0, 10))
        elif commitment == "1-Year":
            renewal = start.replace(hour=0, minute=0, second=0)
            while renewal <= AS_OF:
                renewal = renewal.replace(year=renewal.year + 1)
        updated = min(day(2026, 11, 20) + timedelta(hours=6, minutes=rng.randrange(0, 120)),
                      max(start, day(2026, 9, 1)) + timedelta(days=rng.randrange(0, 70)))
        sub = {
            "id": make_id("sub", "sub", client["name"], key, n),
            "pax8SubscriptionId": stable_uuid("pax8-sub", client["name"], key, n),
            "pax8CompanyId": client["pax8CompanyId"],
            "clientId": client["id"],
            "clientName": client["name"],
            "vendor": vendor,
            "productName": product,
            "sku": sku,
            "quantity": quantity,
            "unitCost": money(cost),
            "unitPrice": money(sell),
            "monthlyAmount": money(sell * quantity),
            "currency": currency,
            "billingTerm": "Monthly",
            "commitmentTerm": commitment,
            "status": status,
            "startDate": iso(start),
            "renewalDate": iso(renewal) if renewal else None,
            "cancelledAt": iso(cancelled) if cancelled else None,
            "updatedAt": iso(max(updated, cancelled or updated)),
        }
        sub["_key"], sub["_client"], sub["_sell"] = key, client, sell
        sub["_billed"] = quantity  # quantity billed on the contract; lowered below for missed billing
        subs.append(sub)
        return sub

    for client in clients:
        core = client["_core"]
        if not core:
            continue
        users = client["userCount"]
        if client["name"] == HARBOURSIDE:
            annual = add_sub(client, "m365-bp", 14)
            annual["_billed"] = 12
            monthly = add_sub(client, "m365-bp", 3, commitment="Monthly", n=2)
            monthly["_billed"] = 0
            client["_apply_subs"] = [annual, monthly]
        else:
            status = "cancelled" if client["_category"] == "inactive" else "active"
            add_sub(client, core, users, status=status)
        for key in client["_forced"]:
            quantity = {"acr-ws": users + rng.randrange(0, 3), "acr-srv": rng.randrange(1, 4),
                        "acr-m365": users, "keeper": users}.get(key, 1)
            add_sub(client, key, quantity)

    # random add-ons for active clients, so that there are 60 subscriptions in all
    candidates = []
    for client in clients:
        if client["_category"] != "active":
            continue
        have = {s["_key"] for s in subs if s["_client"] is client}
        for key in ADDON_POOL:
            if key not in have and not (key == "defender" and client["_core"] == "m365-bp"):
                candidates.append((client, key))
    for client, key in rng.sample(candidates, 60 - len(subs)):
        users = client["userCount"]
        quantity = {"exo-p1": rng.randrange(2, 7), "defender": users, "pbi-pro": rng.randrange(1, 5),
                    "acr-ws": users + rng.randrange(0, 4), "acr-srv": rng.randrange(1, 3), "acr-m365": users,
                    "s1": users + rng.randrange(0, 3), "keeper": users}.get(key, 1)
        add_sub(client, key, quantity)
    subs.sort(key=lambda s: (s["clientName"], s["productName"], s["startDate"]))

    special = {HARBOURSIDE, PONEKE, COROMANDEL, RIVERBEND, TASMAN, BONDI}
    plain_addons = [s for s in subs if s["_client"]["_category"] == "active" and s["_key"] != s["_client"]["_core"]
                    and s["clientName"] not in special and s["_key"] != "azure"]
    ended = rng.sample(plain_addons, 3)
    for sub, status in zip(ended, ["cancelled", "cancelled", "suspended"]):
        sub["status"] = status
        if status == "cancelled":
            sub["cancelledAt"] = iso(day(2026, 10, 1) + timedelta(days=rng.randrange(0, 45), hours=3))
            sub["renewalDate"] = None
            sub["updatedAt"] = max(sub["updatedAt"], sub["cancelledAt"])
        sub["_billed"] = 0

    # -- missed billing: which active subscriptions are not fully billed --------------------------------
    for sub in subs:
        name = sub["clientName"]
        if name == COROMANDEL and sub["_key"] == "acr-ws":
            sub["_billed"] = sub["quantity"] - 2
        if name == RIVERBEND and sub["_key"] == "acr-ws":
            sub["_billed"] = 0  # never added to the contract
    eligible = [s for s in subs if s["status"] == "active" and s["_client"]["_category"] == "active"
                and s["clientName"] not in special and s["_key"] != "azure"]
    forced_missed = sum(1 for s in subs if s["status"] == "active" and
                        (s["_client"]["_category"] in ("expired", "onboarding") or s["_billed"] < s["quantity"]))
    for sub in rng.sample(eligible, 25 - forced_missed):
        if sub["quantity"] == 1 or (sub["_key"] != sub["_client"]["_core"] and rng.random() < 0.4):
            sub["_billed"] = 0
        else:
            sub["_billed"] = sub["quantity"] - rng.randrange(1, min(4, sub["quantity"]))

    # -- contracts -----------------------------------------------------------------------------------------
    contract_of = {}  # client name -> the contract its subscriptions are billed on (active, or the latest)

    def contract_line(contract, client, n, description, sku, quantity, unit_cents, status, tax_code=None):
        tax_code = tax_code or DEFAULT_TAX[client["country"]]
        line = {
            "id": make_id("ctl", "contract-line", contract["id"], n, sku),
            "description": description,
            "sku": sku,
            "quantity": quantity,
            "unitPrice": money(unit_cents),
            "status": status,
            "taxCode": tax_code,
            "taxRate": TAX[tax_code],
        }
        line["_unit"] = unit_cents
        contract["lines"].append(line)
        return line

    def new_contract(client, name, status, start, months, key):
        end = add_months(start, months) - timedelta(days=1)
        contract = {
            "id": make_id("ct", "contract", client["name"], key),
            "clientId": client["id"],
            "clientName": client["name"],
            "name": name,
            "status": status,
            "startDate": iso(start),
            "endDate": iso(end),
            "billingFrequency": "monthly",
            "currency": client["currency"],
            "autoRenew": status == "active",
            "lines": [],
            "updatedAt": None,
        }
        contract["_client"] = client
        contracts.append(contract)
        return contract

    expiring_soon = 2
    draft_line_extras = {BONDI, SOUTHERN_ALPS}
    others = [c["name"] for c in clients if c["_category"] == "active" and c["name"] not in special
              and c["name"] != SOUTHERN_ALPS]
    draft_line_extras.update(rng.sample(others, 3))

    for client in clients:
        category = client["_category"]
        if category == "project":
            continue
        tier, per_user = TIERS[rng.randrange(0, 3)] if client["userCount"] >= 10 else TIERS[0]
        if client["currency"] == "AUD":
            per_user = per_user * 92 // 100 // 10 * 10
        line_status = "active"
        if category == "active":
            start = day(2024, 1, 1) + timedelta(days=rng.randrange(0, 880))
            start = start.replace(day=1)
            months = rng.choice([12, 24, 36])
            while add_months(start, months) <= day(2027, 1, 1):
                months += 12
            contract = new_contract(client, "Managed Services Agreement — " + tier, "active", start, months, "msa")
        elif category == "expired":
            start = day(2024, 10, 1)
            contract = new_contract(client, "Managed Services Agreement 2024–2026", "expired", start, 24, "msa")
        elif category == "inactive":
            start = day(2024, 7, 1)
            contract = new_contract(client, "Managed Services Agreement — Essentials", "expired", start, 24, "msa")
        else:  # onboarding
            contract = new_contract(client, "Managed Services Agreement — %s (onboarding)" % tier, "draft",
                                    day(2026, 12, 1), 36, "msa")
            line_status = "draft"
        contract_of[client["name"]] = contract
        n = 1
        contract_line(contract, client, n, "Managed IT services — per user", "NW-MS-USER", client["userCount"],
                      per_user, line_status)
        if client["userCount"] >= 20:
            n += 1
            contract_line(contract, client, n, "Managed server — monitoring & patching", "NW-MS-SERVER",
                          1 + client["userCount"] // 25, 18500 if client["currency"] == "NZD" else 16900,
                          line_status)
        for sub in subs:
            if sub["_client"] is not client:
                continue
            billed = sub["quantity"] if category == "onboarding" else sub["_billed"]
            if billed <= 0:
                continue
            n += 1
            tax_code = None
            if sub["_key"] == "azure" and client["name"] == PONEKE:
                tax_code = "ZERORATEDOUTPUT"  # the mistake the pending generated-invoice tax edit corrects
            line = contract_line(contract, client, n, sub["productName"], sub["sku"], billed, sub["_sell"],
                                 line_status, tax_code)
            sub["_line"] = line
        if client["name"] in draft_line_extras:
            n += 1
            if client["name"] == BONDI:
                # taxed OUTPUT2 (NZ GST) by mistake; the failed write tried to make it OUTPUT (AU GST 10%)
                contract_line(contract, client, n, "Microsoft Defender for Business — rollout", "MST-DFB-NCE",
                              client["userCount"], PRODUCTS["defender"][5], "draft", "OUTPUT2")
            else:
                sku, description, unit = rng.choice([
                    ("NW-SAT-USER", "Security awareness training — per user", 450),
                    ("NW-VCIO", "vCIO quarterly review", 35000),
                    ("NW-MDM-DEVICE", "Mobile device management — per device", 390),
                ])
                quantity = 1 if sku == "NW-VCIO" else client["userCount"]
                contract_line(contract, client, n, description, sku, quantity, unit, "draft")
        contract["updatedAt"] = iso(min(LAST_SYNC_ALL - timedelta(hours=2),
                                        day(2026, 10, 1) + timedelta(days=rng.randrange(0, 52),
                                                                     minutes=rng.randrange(0, 1440))))

    # two active contracts end this year (the dashboard counts contracts expiring within 60 days)
    soon = [c for c in contracts if c["status"] == "active" and c["clientName"] not in special]
    for contract in rng.sample(soon, expiring_soon):
        contract["endDate"] = iso(day(2026, 12, 31))
        contract["autoRenew"] = False

    # -- missed-billing items ------------------------------------------------------------------------------
    for sub in subs:
        if sub["status"] != "active":
            continue
        category = sub["_client"]["_category"]
        if category in ("expired", "onboarding"):
            unbilled, reason = sub["quantity"], "contract-expired" if category == "expired" else "no-active-contract"
        elif sub["_billed"] < sub["quantity"]:
            unbilled = sub["quantity"] - sub["_billed"]
            reason = "not-on-contract" if sub["_billed"] == 0 else "quantity-mismatch"
        else:
            continue
        contract = contract_of.get(sub["clientName"])
        unit = "seat" if sub["vendor"] == "Microsoft" or sub["_key"] in ("acr-m365", "keeper") else "device"
        if sub["_key"] == "acr-srv":
            unit = "server"
        plural = "" if unbilled == 1 else "s"
        if reason == "quantity-mismatch":
            description = "%s: %d %s%s in Pax8, %d billed on contract" % (
                sub["productName"], sub["quantity"], unit, "" if sub["quantity"] == 1 else "s", sub["_billed"])
        elif reason == "not-on-contract":
            description = "%s: %d %s%s in Pax8, not mapped to a contract line" % (sub["productName"], unbilled, unit, plural)
        elif reason == "contract-expired":
            description = "%s: %d %s%s in Pax8, contract ended %s" % (
                sub["productName"], unbilled, unit, plural, contract["endDate"][:10])
        else:
            description = "%s: %d %s%s in Pax8, contract still a draft" % (sub["productName"], unbilled, unit, plural)
        detected = day(2026, 10, 2) + timedelta(days=rng.randrange(0, 49), hours=rng.randrange(0, 6),
                                                minutes=rng.randrange(0, 60), seconds=rng.randrange(0, 60))
        started = datetime.strptime(sub["startDate"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        detected = max(detected, started + timedelta(days=1, hours=2))
        detected = min(detected, day(2026, 11, 21) + timedelta(hours=6, minutes=1, seconds=17))
        item = {
            "id": make_id("mb", "missed-billing", sub["id"]),
            "clientId": sub["clientId"],
            "clientName": sub["clientName"],
            "subscriptionId": sub["id"],
            "contractId": contract["id"] if contract else None,
            "source": "pax8",
            "sku": sub["sku"],
            "description": description,
            "reason": reason,
            "quantity": unbilled,
            "unitPrice": sub["unitPrice"],
            "monthlyAmount": money(sub["_sell"] * unbilled),
            "currency": sub["currency"],
            "detectedAt": iso(detected),
            "status": "open",
            "snoozeUntil": None,
            "updatedAt": iso(detected),
        }
        item["_sub"], item["_cents"] = sub, sub["_sell"] * unbilled
        missed.append(item)
    missed.sort(key=lambda m: (m["detectedAt"], m["id"]))
    assert len(missed) == 25, len(missed)

    keep_open = {HARBOURSIDE, COROMANDEL, RIVERBEND}
    others = [m for m in missed if m["clientName"] not in keep_open]
    snooze_until = iter([day(2026, 12, 1), day(2027, 1, 5)])
    for item, status in zip(rng.sample(others, 5), ["snoozed", "snoozed", "reviewed", "reviewed", "ignored"]):
        item["status"] = status
        changed = datetime.strptime(item["detectedAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) + timedelta(
            days=rng.randrange(1, 5), hours=rng.randrange(0, 8))
        item["updatedAt"] = iso(min(changed, LAST_SYNC_ALL - timedelta(hours=3)))
        if status == "snoozed":
            item["snoozeUntil"] = iso(next(snooze_until))

    # -- generated invoices -------------------------------------------------------------------------------
    def line_amounts(contract, adjust=None):
        rows = []
        for line in contract["lines"]:
            if line["status"] != "active":
                continue
            quantity = line["quantity"]
            unit = line["_unit"]
            if adjust:
                quantity, unit = adjust(line, quantity, unit)
            amount = quantity * unit
            rows.append((line, quantity, unit, amount, tax_cents(amount, line["taxRate"])))
        return rows

    active_clients = [c for c in clients if c["_category"] == "active"]
    pushed_names = rng.sample([c["name"] for c in active_clients if c["name"] not in special], 4)
    december = [n for n in (PONEKE, RIVERBEND, TASMAN, HARBOURSIDE, BONDI)]
    rest = [c["name"] for c in active_clients if c["name"] not in december and c["name"] not in pushed_names]
    december += rng.sample(rest, 16 - len(december))
    december.sort(key=lambda n: client_by_name[n]["name"])
    approved = {TASMAN} | set(rng.sample([n for n in december if n not in (PONEKE, RIVERBEND, HARBOURSIDE, BONDI,
                                                                        TASMAN)], 3))
    gi_pushed_invoice = {}  # client name -> generated invoice pushed for November

    def make_gi(client_name, number, period, status, created):
        client = client_by_name[client_name]
        contract = contract_of[client_name]
        rows = line_amounts(contract)
        lines = []
        for line, quantity, unit, amount, tax in rows:
            lines.append({
                "id": make_id("gil", "gi-line", number, line["id"]),
                "contractLineId": line["id"],
                "description": line["description"],
                "quantity": quantity,
                "unitPrice": money(unit),
                "amount": money(amount),
                "taxCode": line["taxCode"],
                "taxRate": line["taxRate"],
                "taxAmount": money(tax),
            })
        subtotal = sum(r[3] for r in rows)
        tax_total = sum(r[4] for r in rows)
        due = add_months(period, 1).replace(day=20)
        gi = {
            "id": make_id("gi", "generated-invoice", number),
            "number": number,
            "clientId": client["id"],
            "clientName": client_name,
            "contractId": contract["id"],
            "status": status,
            "currency": client["currency"],
            "periodStart": iso(period),
            "periodEnd": iso(add_months(period, 1) - timedelta(days=1)),
            "issueDate": iso(period),
            "dueDate": iso(due),
            "subtotal": money(subtotal),
            "taxTotal": money(tax_total),
            "total": money(subtotal + tax_total),
            "lines": lines,
            "createdAt": iso(created),
            "approvedAt": None,
            "approvedBy": None,
            "pushedAt": None,
            "externalProvider": None,
            "externalInvoiceId": None,
            "externalNumber": None,
        }
        gi["_subtotal"], gi["_tax"] = subtotal, tax_total
        if status in ("approved", "pushed"):
            gi["approvedAt"] = iso(created + timedelta(hours=11, minutes=rng.randrange(0, 300)))
            gi["approvedBy"] = ACCOUNT["userId"]
        gis.append(gi)
        return gi

    run_nov = datetime(2026, 10, 28, 20, 0, 0, tzinfo=UTC)
    run_dec = datetime(2026, 11, 20, 20, 0, 0, tzinfo=UTC)
    for index, name in enumerate(sorted(pushed_names)):
        gi = make_gi(name, "GI-2611-%04d" % (index + 1), day(2026, 11, 1), "pushed", run_nov + timedelta(seconds=index))
        gi["pushedAt"] = iso(day(2026, 11, 1) + timedelta(hours=19, minutes=5 + index))
        gi_pushed_invoice[name] = gi
    for index, name in enumerate(december):
        status = "approved" if name in approved else "draft"
        make_gi(name, "GI-2612-%04d" % (index + 1), day(2026, 12, 1), status, run_dec + timedelta(seconds=index))

    # -- invoices (Xero for NZ clients, QuickBooks Online for AU) ---------------------------------------------
    inv_rows = []  # (issue date, client, subtotal, tax, reference, status, amountPaid, gi)

    def monthly_invoice(client, month, status, paid=None):
        contract = contract_of[client["name"]]

        def adjust(line, quantity, unit):
            if line["sku"] == "MST-AZR-PLAN":
                return quantity, unit * rng.randrange(80, 115) // 100
            if line["sku"] in ("NW-MS-USER",) or line["sku"].startswith("MST-M365"):
                return max(1, quantity - rng.choice([0, 0, 0, 1, 2])), unit
            return quantity, unit

        rows = line_amounts(contract, adjust)
        subtotal, tax = sum(r[3] for r in rows), sum(r[4] for r in rows)
        reference = "Managed services — %s" % month.strftime("%B %Y")
        inv_rows.append([month, client, subtotal, tax, reference, status, paid, None])

    # October (due 20 Nov, so unpaid ones are one day overdue) and November (due 20 Dec) for every active client
    for client in active_clients:
        name = client["name"]
        october = "AUTHORISED" if rng.random() < 0.26 else "PAID"
        monthly_invoice(client, day(2026, 10, 1), october)
        if name in gi_pushed_invoice:
            gi = gi_pushed_invoice[name]
            status = "DRAFT" if len([r for r in inv_rows if r[7]]) < 2 else "AUTHORISED"
            inv_rows.append([day(2026, 11, 1), client, gi["_subtotal"], gi["_tax"],
                             "Managed services — November 2026", status, None, gi])
        else:
            monthly_invoice(client, day(2026, 11, 1), "PAID" if rng.random() < 0.2 else "AUTHORISED")
    # September for half of them, mostly paid
    for client in rng.sample(active_clients, 14):
        monthly_invoice(client, day(2026, 9, 1), "AUTHORISED" if rng.random() < 0.15 else "PAID")
    # expired, inactive and onboarding clients
    te_awamutu = client_by_name["Te Awamutu Motors Ltd"]
    monthly_invoice(te_awamutu, day(2026, 8, 1), "AUTHORISED")  # 62 days overdue
    monthly_invoice(te_awamutu, day(2026, 9, 1), "AUTHORISED")  # 32 days overdue
    yarra = client_by_name["Yarra Valley Cellars Pty Ltd"]
    monthly_invoice(yarra, day(2026, 8, 1), "PAID")
    monthly_invoice(yarra, day(2026, 9, 1), "PAID")
    dunedin = client_by_name["Dunedin Print & Design Ltd"]
    monthly_invoice(dunedin, day(2026, 6, 1), "AUTHORISED")  # over 90 days
    monthly_invoice(dunedin, day(2026, 7, 1), "AUTHORISED", paid=5000)  # over 90 days, part paid
    # project work
    projects = [
        ("Central Otago Cycle Hire Ltd", day(2026, 9, 14), 186000, "Website & booking system migration", "PAID"),
        ("Central Otago Cycle Hire Ltd", day(2026, 11, 9), 42500, "Wi-Fi site survey — Clyde depot", "AUTHORISED"),
        ("Napier Art Deco Tours Ltd", day(2026, 10, 6), 78000, "Laptop replacement project (3 devices)", "PAID"),
        ("Greymouth Mining Services Ltd", day(2026, 8, 18), 312500, "Site network cabling — stage 1", "PAID"),
        ("Greymouth Mining Services Ltd", day(2026, 10, 27), 268000, "Site network cabling — stage 2", "AUTHORISED"),
        ("Salamanca Marine Pty Ltd", day(2026, 11, 3), 96000, "Microsoft 365 tenant migration", "DRAFT"),
        ("Kāpiti Coast Chartered Accountants Ltd", day(2026, 11, 12), 145000, "Onboarding — discovery & documentation",
         "AUTHORISED"),
        ("Petone Brewing Company Ltd", day(2026, 11, 16), 218000, "Onboarding — device deployment (16 users)", "DRAFT"),
    ]
    for name, issued, subtotal, reference, status in projects:
        client = client_by_name[name]
        tax = tax_cents(subtotal, TAX[DEFAULT_TAX[client["country"]]])
        inv_rows.append([issued, client, subtotal, tax, reference, status, None, None])

    # voided and re-issued invoices: one November, one September
    for month in (day(2026, 11, 1), day(2026, 9, 1)):
        row = next(r for r in inv_rows if r[0] == month and r[7] is None and r[1]["name"] not in special
                   and r[1]["_category"] == "active" and r[5] != "VOIDED")
        replacement = list(row)
        row[5] = "VOIDED"
        replacement[0] = month + timedelta(days=2)
        replacement[4] = row[4] + " (re-issued)"
        inv_rows.append(replacement)

    # two partial payments among the overdue October invoices
    partial = [r for r in inv_rows if r[0] == day(2026, 10, 1) and r[5] == "AUTHORISED"][:2]
    for row in partial:
        total = row[2] + row[3]
        row[6] = total // 2 // 100 * 100

    inv_rows.sort(key=lambda r: (r[0], r[1]["name"], r[4]))
    xero_number, qbo_number = 10412, 1187
    for issued, client, subtotal, tax, reference, status, paid, gi in inv_rows:
        provider = client["accountingProvider"]
        if provider == "xero":
            number, xero_number = "INV-%d" % xero_number, xero_number + 1
            external = stable_uuid("xero-invoice", number)
        else:
            number, qbo_number = str(qbo_number), qbo_number + 1
            external = str(qbo_number * 3 + 1000)
        total = subtotal + tax
        # managed services: the 20th of the following month; project work: 14 days
        due = add_months(issued, 1).replace(day=20) if "Managed services" in reference else issued + timedelta(days=14)
        amount_paid, paid_at = 0, None
        if status == "PAID":
            amount_paid = total
            paid_at = min(due - timedelta(days=rng.randrange(0, 12)), LAST_SYNC_ALL - timedelta(days=1))
            paid_at = paid_at.replace(hour=rng.randrange(0, 6), minute=rng.randrange(0, 60))
        elif status == "AUTHORISED" and paid:
            amount_paid = paid
        amount_due = 0 if status in ("PAID", "VOIDED") else total - amount_paid
        updated = max(issued + timedelta(hours=20), paid_at or issued)
        if status == "VOIDED":
            updated = issued + timedelta(days=2, hours=1)
        invoice = {
            "id": make_id("inv", "invoice", provider, number),
            "source": provider,
            "externalId": external,
            "number": number,
            "type": "ACCREC",
            "clientId": client["id"],
            "clientName": client["name"],
            "status": status,
            "currency": client["currency"],
            "reference": reference,
            "issueDate": iso(issued),
            "dueDate": iso(due),
            "subtotal": money(subtotal),
            "taxTotal": money(tax),
            "total": money(total),
            "amountPaid": money(amount_paid),
            "amountDue": money(amount_due),
            "paidAt": iso(paid_at) if paid_at else None,
            "generatedInvoiceId": gi["id"] if gi else None,
            "updatedAt": iso(min(updated, LAST_SYNC_ALL - timedelta(minutes=30))),
        }
        invoice["_due"], invoice["_amount_due"] = due, amount_due
        invoices.append(invoice)
        if gi:
            gi["externalProvider"] = provider
            gi["externalInvoiceId"] = external
            gi["externalNumber"] = number
    assert 75 <= len(invoices) <= 85, len(invoices)

    return clients, subs, contracts, missed, invoices, gis, contract_of


def build_dashboard(clients, subs, contracts, missed, invoices, gis, integrations):
    mrr = 0
    for contract in contracts:
        if contract["status"] == "active":
            for line in contract["lines"]:
                if line["status"] == "active":
                    mrr += to_nzd(line["quantity"] * line["_unit"], contract["currency"])
    aging = {"current": 0, "days1to30": 0, "days31to60": 0, "days61to90": 0, "over90": 0}
    overdue_count = overdue_amount = 0
    for invoice in invoices:
        if invoice["status"] != "AUTHORISED" or invoice["_amount_due"] <= 0:
            continue
        due_nzd = to_nzd(invoice["_amount_due"], invoice["currency"])
        late = (AS_OF - invoice["_due"]).days
        bucket = ("current" if late <= 0 else "days1to30" if late <= 30 else "days31to60" if late <= 60
                  else "days61to90" if late <= 90 else "over90")
        aging[bucket] += due_nzd
        if late > 0:
            overdue_count += 1
            overdue_amount += due_nzd
    ar_total = sum(aging.values())
    open_missed = [m for m in missed if m["status"] == "open"]
    drafts = [g for g in gis if g["status"] == "draft"]
    expiring = [c for c in contracts if c["status"] == "active" and c["endDate"] <= iso(AS_OF + timedelta(days=60))]
    broken = [i for i in integrations if i["status"] == "error"]
    needs = [
        {"kind": "missed-billing", "count": len(open_missed),
         "amount": money(sum(to_nzd(m["_cents"], m["currency"]) for m in open_missed)),
         "link": "billingone://missed-billing"},
        {"kind": "overdue-invoices", "count": overdue_count, "amount": money(overdue_amount),
         "link": "billingone://invoices?status=overdue"},
        {"kind": "generated-drafts", "count": len(drafts),
         "amount": money(sum(to_nzd(g["_subtotal"] + g["_tax"], g["currency"]) for g in drafts)),
         "link": "billingone://generated-invoices?status=draft"},
        {"kind": "contracts-expiring", "count": len(expiring), "amount": None,
         "link": "billingone://contracts"},
    ]
    for integration in broken:
        needs.append({"kind": "integration-error", "count": 1, "amount": None, "provider": integration["provider"],
                      "message": integration["lastError"], "link": "billingone://settings/integrations"})
    return {
        "id": "summary",
        "asOf": iso(LAST_SYNC_ALL),
        "currency": "NZD",
        "fxRates": {"AUD": AUD_TO_NZD / 10000},
        "mrr": money(mrr),
        "arTotal": money(ar_total),
        "aging": {key: money(value) for key, value in aging.items()},
        "overdueCount": overdue_count,
        "overdueAmount": money(overdue_amount),
        "activeClients": sum(1 for c in clients if c["status"] == "active"),
        "activeSubscriptions": sum(1 for s in subs if s["status"] == "active"),
        "needsAttention": needs,
    }


def build_settings():
    return {
        "id": "org",
        "orgId": ACCOUNT["orgId"],
        "orgName": "Northwind MSP Ltd",
        "orgSlug": "northwind-msp",
        "country": "NZ",
        "baseCurrency": "NZD",
        "timezone": "Pacific/Auckland",
        "gstNumber": "123-456-789",
        "defaultTaxCode": "OUTPUT2",
        "taxCodes": [{"code": code, "rate": rate} for code, rate in TAX.items()],
        "paymentTerms": {"type": "OFFOLLOWINGMONTH", "day": 20},
        "invoiceGeneration": {"dayOfMonth": 20, "numberPrefix": "GI-", "autoApprove": False, "pushTo": "xero",
                              "pushToByCountry": {"AU": "quickbooks", "NZ": "xero"}},
        "missedBilling": {"minimumMonthlyAmount": 5, "defaultSnoozeDays": 30, "autoDetect": True},
        "notifications": {"missedBilling": True, "generatedDrafts": True, "overdueDigest": "weekly"},
        "updatedAt": "2026-10-14T03:27:51Z",
    }


def build_integrations():
    def item(provider, name, status, last_sync, connected, last_error=None, **extra):
        entry = {"id": provider, "provider": provider, "displayName": name, "status": status,
                 "lastSyncAt": last_sync, "lastError": last_error, "connectedAt": connected}
        entry.update(extra)
        return entry

    return [
        item("pax8", "Pax8", "connected", "2026-11-21T06:00:12Z", "2024-02-19T22:14:03Z",
             companiesMapped=32, partnerRegion="ANZ"),
        item("xero", "Xero", "connected", "2026-11-21T06:05:31Z", "2023-03-02T01:40:55Z",
             tenantName="Northwind MSP Ltd", tenantCountry="NZ"),
        item("quickbooks", "QuickBooks Online", "connected", "2026-11-21T05:58:02Z", "2025-07-08T04:11:19Z",
             tenantName="Northwind MSP Pty Ltd", tenantCountry="AU"),
        item("superops", "SuperOps", "connected", "2026-11-20T22:30:00Z", "2025-01-27T20:02:44Z",
             devicesSynced=612),
        item("synergy-wholesale", "Synergy Wholesale", "error", "2026-11-18T03:12:44Z", "2024-05-06T23:48:10Z",
             "401 unauthorized: API key rejected by Synergy Wholesale (reseller 4821)"),
    ]


def strip(obj):
    """Drop the generator's private keys (those starting with '_')."""
    if isinstance(obj, dict):
        return {k: strip(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [strip(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------------------------------------
# queued writes


def write_file_name(created, sequence, write_id):
    return "%s.%06dZ-%06d-%s.json" % (created.strftime("%Y%m%dT%H%M%S"), created.microsecond, sequence, write_id)


def make_write(write_id, kind, payload, created, attempts=0, last_attempt=None, last_error=None, next_attempt=None):
    return {
        "format": "b1cache.write",
        "schemaVersion": 1,
        "id": write_id,
        "kind": kind,
        "payload": payload,
        "createdAt": iso_ms(created),
        "attempts": attempts,
        "lastAttemptAt": iso_ms(last_attempt) if last_attempt else None,
        "lastError": last_error,
        "nextAttemptAt": iso_ms(next_attempt) if next_attempt else None,
    }


def build_writes(contracts, missed, gis):
    def at(h, m, s, us):
        return datetime(2026, 11, 21, h, m, s, us, tzinfo=UTC)

    # failed: the Bondi draft line was activated on the web after the Sync All; the flush got a 409
    bondi = next(c for c in contracts if c["clientName"] == BONDI and c["status"] == "active")
    bondi_line = next(l for l in bondi["lines"] if l["status"] == "draft")
    failed_id = "3c2e8a51-7d4f-4b9e-a0c6-5f1d2e9b8a47"
    failed_created = at(18, 2, 51, 204518)
    failed = make_write(failed_id, "contract.line-tax",
                        {"contractId": bondi["id"], "lineId": bondi_line["id"], "taxCode": "OUTPUT", "taxRate": 10},
                        failed_created, attempts=1, last_attempt=at(18, 5, 33, 870226),
                        last_error="409 conflict: contract line %s is no longer a draft" % bondi_line["id"])

    # pending 1: snooze Coromandel's open item. It is the head of the queue, so it is the one write a flush
    # has tried: a 503 at 18:26:40 stopped that flush (flush keeps order) and set its backoff.
    snooze_item = next(m for m in missed if m["clientName"] == COROMANDEL and m["status"] == "open")
    w1_id = "8f14e45f-ceea-4e67-b1a3-2d6c9b0e7f52"
    w1_created = at(18, 24, 9, 512394)
    w1 = make_write(w1_id, "missed-billing.action",
                    {"itemId": snooze_item["id"], "action": "snooze", "snoozeUntil": "2027-01-15T00:00:00Z"},
                    w1_created, attempts=1, last_attempt=at(18, 26, 40, 31877), last_error="503 service unavailable",
                    next_attempt=at(18, 27, 12, 688140))

    # pending 2: the zero-rated Azure line of Pōneke's December draft becomes OUTPUT2 15%
    poneke_gi = next(g for g in gis if g["clientName"] == PONEKE and g["status"] == "draft")
    azure_line = next(l for l in poneke_gi["lines"] if l["taxCode"] == "ZERORATEDOUTPUT")
    w2_id = "c9a1d3e7-5b2f-4a86-9e0d-71f4b6a8c253"
    w2_created = at(18, 31, 47, 93655)
    w2 = make_write(w2_id, "generated-invoice.line-tax",
                    {"invoiceId": poneke_gi["id"], "lineId": azure_line["id"], "taxCode": "OUTPUT2", "taxRate": 15},
                    w2_created)

    # pending 3: bulk-apply Harbourside's two unbilled Microsoft 365 Business Premium items to the contract's line
    harbour_items = [m for m in missed if m["clientName"] == HARBOURSIDE]
    assert len(harbour_items) == 2 and all(m["status"] == "open" for m in harbour_items)
    harbour_contract = next(c for c in contracts if c["clientName"] == HARBOURSIDE and c["status"] == "active")
    annual_sub = harbour_items[0]["_sub"]["_client"]["_apply_subs"][0]
    w3_id = "5e7b2c90-1af4-4d3b-8c65-e03a9f17d4b8"
    w3_created = at(18, 47, 22, 650171)
    w3 = make_write(w3_id, "missed-billing.apply",
                    {"itemIds": sorted(m["id"] for m in harbour_items),
                     "mapping": {"contractId": harbour_contract["id"], "lineId": annual_sub["_line"]["id"]}},
                    w3_created)

    queue = [(write_file_name(w1_created, 1, w1_id), w1), (write_file_name(w2_created, 1, w2_id), w2),
             (write_file_name(w3_created, 1, w3_id), w3)]
    failed_files = [(write_file_name(failed_created, 1, failed_id), failed)]
    return queue, failed_files


# ---------------------------------------------------------------------------------------------------------
# output


def generate():
    """All files of the sample, as {relative path: bytes}."""
    rng = random.Random(SEED)
    clients, subs, contracts, missed, invoices, gis, _ = build(rng)
    integrations = build_integrations()
    dashboard = build_dashboard(clients, subs, contracts, missed, invoices, gis, integrations)
    items = {
        "dashboard": [dashboard],
        "subscriptions": subs,
        "invoices": invoices,
        "clients": clients,
        "contracts": contracts,
        "missed-billing": missed,
        "generated-invoices": gis,
        "settings": [build_settings()],
        "integrations": integrations,
    }
    queue, failed = build_writes(contracts, missed, gis)

    files = {}
    manifest_collections = {}
    for name, revision, synced in COLLECTIONS:
        collection_items = strip(items[name])
        ids = [item["id"] for item in collection_items]
        assert len(ids) == len(set(ids)), name
        cursor = "c1." + hashlib.sha256(("cursor|%s|%d|%s" % (name, revision, iso(synced))).encode()).hexdigest()[:24]
        envelope = {
            "format": "b1cache.envelope",
            "schemaVersion": 1,
            "collection": name,
            "revision": revision,
            "syncedAt": iso(synced),
            "cursor": cursor,
            "complete": name not in PARTIAL,
            "items": collection_items,
        }
        data = dumps(envelope).encode("utf-8")
        files["collections/%s.json" % name] = data
        manifest_collections[name] = {"syncedAt": iso(synced), "revision": revision, "count": len(collection_items),
                                      "bytes": len(data), "cursor": cursor}
    manifest = {
        "format": "b1cache.manifest",
        "schemaVersion": 1,
        "account": ACCOUNT,
        "lastSyncAllAt": iso(LAST_SYNC_ALL),
        "collections": manifest_collections,
    }
    files["manifest.json"] = dumps(manifest).encode("utf-8")
    for file_name, write in queue:
        files["queue/" + file_name] = dumps(write).encode("utf-8")
    for file_name, write in failed:
        files["failed/" + file_name] = dumps(write).encode("utf-8")
    return files


def write_tree(files, root):
    for relative, data in sorted(files.items()):
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)


def read_tree(root):
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, root).replace(os.sep, "/")] = handle.read()
    return found


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description="Generate the b1cache sample cache (SampleCache/).")
    parser.add_argument("--out", default=os.path.join(repo, "SampleCache"),
                        help="directory to (re)create (default: SampleCache/ at the top of the repository)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the directory differs from what this script generates")
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    files = generate()

    if args.check:
        existing = read_tree(out) if os.path.isdir(out) else {}
        differing = sorted(set(files) ^ set(existing) | {p for p in files if p in existing and files[p] != existing[p]})
        for path in differing:
            print("differs: %s" % path, file=sys.stderr)
        if differing:
            print("%s is out of date: run python3 scripts/make-sample-cache.py" % out, file=sys.stderr)
            return 1
        print("%s is up to date (%d files)" % (out, len(files)))
        return 0

    if os.path.lexists(out):
        if os.path.islink(out) or not os.path.isdir(out):
            print("refusing to replace %s: not a directory" % out, file=sys.stderr)
            return 2
        if os.listdir(out) and not os.path.exists(os.path.join(out, "manifest.json")):
            print("refusing to replace %s: not empty and not a sample cache" % out, file=sys.stderr)
            return 2
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".sample-cache-", dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # an ordinary directory, like the ones git checks out
    try:
        write_tree(files, staging)
        if os.path.lexists(out):
            aside = staging + ".old"
            os.rename(out, aside)
            os.rename(staging, out)
            shutil.rmtree(aside)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print("wrote %d files to %s" % (len(files), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
