#!/usr/bin/env python3
"""Generates pii-corpus.jsonl: the labelled PII evaluation corpus (reviewers' format: id, text, pii).

Run from this folder: python3 generate_pii_corpus.py  (deterministic: fixed seed). The validators
(Luhn, mod-97, ABA) are written again here, independently of the C# ones, so the corpus is an
oracle for them rather than a copy. Ids are "<type>-pos-N" for texts built around a value of that
type and "<type>-neg-N" for hard negatives of that type; every PII value a text contains is
labelled, whatever its id says.
"""
import json
import random
import string

rng = random.Random(20261123)

FIRST = ["Maria", "John", "Aisha", "Wei", "Lukas", "Sofia", "Omar", "Priya", "Tom", "Elena", "Kenji", "Fatima", "Noah",
         "Chloe", "Diego", "Hannah", "Ivan", "Zara", "Liam", "Mei"]
LAST = ["Lopez", "Smith", "Khan", "Zhang", "Muller", "Rossi", "Haddad", "Patel", "Brown", "Petrova", "Tanaka", "Okafor",
        "Johnson", "Martin", "Garcia", "Schmidt", "Novak", "Ali", "Walsh", "Chen"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Finance", "Hooli", "Vandelay Imports"]
FILLERS = [
    "Thanks in advance for your help.", "Let me know if anything is unclear.", "This is for the quarterly review.",
    "Can you draft a polite reply?", "Please summarise the situation for my manager.", "I need this fixed before the audit.",
    "The customer is waiting on an answer.", "Sorry for the long message.", "We discussed this in the meeting yesterday.",
    "Could you rewrite this more formally?", "Translate the following into French.", "Here are the details you asked for.",
]


def name():
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def wrap(text):
    """Adds neutral prose around a sentence, sometimes."""
    r = rng.random()
    if r < 0.3:
        return f"{rng.choice(FILLERS)} {text}"
    if r < 0.55:
        return f"{text} {rng.choice(FILLERS)}"
    return text


def digits(n):
    return "".join(rng.choice(string.digits) for _ in range(n))


# ---------------------------------------------------------------- validators (independent of the C#)
def luhn_ok(number):
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(prefix, length):
    body = prefix + digits(length - len(prefix) - 1)
    for check in "0123456789":
        if luhn_ok(body + check):
            return body + check
    raise AssertionError


def iban_check(country, bban):
    rearranged = bban + country + "00"
    number = "".join(str(int(c, 36)) for c in rearranged)
    return "%02d" % (98 - int(number) % 97)


def iban_ok(iban):
    s = iban.replace(" ", "")
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def aba_ok(n):
    d = [int(c) for c in n]
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0


ABA_PREFIXES = list(range(0, 13)) + list(range(21, 33)) + list(range(61, 73)) + [80]


def aba_valid():
    while True:
        body = "%02d" % rng.choice(ABA_PREFIXES) + digits(6)
        for c in "0123456789":
            if aba_ok(body + c) and body + c != "000000000":
                return body + c


def aba_invalid_checksum():
    while True:
        n = "%02d" % rng.choice(ABA_PREFIXES) + digits(7)
        if not aba_ok(n):
            return n


# ---------------------------------------------------------------- value generators
CARD_BRANDS = [("4", 16), ("4", 16), ("4", 13), ("51", 16), ("53", 16), ("55", 16), ("2221", 16), ("2720", 16),
               ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("3530", 16), ("3589", 16), ("36", 14), ("62", 16),
               ("4", 19), ("6304", 18)]


def group_card(number, sep):
    if len(number) == 15:
        return sep.join([number[:4], number[4:10], number[10:]])
    if len(number) == 14 and rng.random() < 0.5:
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


def card():
    prefix, length = rng.choice(CARD_BRANDS)
    number = luhn_complete(prefix, length)
    sep = rng.choice(["", " ", " ", "-"])
    return group_card(number, sep) if sep else number


IBAN_FORMATS = {  # country: (length, bban maker)
    "DE": (22, lambda: digits(18)), "FR": (27, lambda: digits(10) + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(11)) + digits(2)),
    "GB": (22, lambda: rng.choice(["NWBK", "BARC", "HBUK", "LOYD"]) + digits(14)), "NL": (18, lambda: rng.choice(["ABNA", "INGB", "RABO"]) + digits(10)),
    "ES": (24, lambda: digits(20)), "IT": (27, lambda: rng.choice(string.ascii_uppercase) + digits(22)), "BE": (16, lambda: digits(12)),
    "CH": (21, lambda: digits(17)), "AT": (20, lambda: digits(16)), "PL": (28, lambda: digits(24)), "SE": (24, lambda: digits(20)),
    "NO": (15, lambda: digits(11)), "IE": (22, lambda: rng.choice(["AIBK", "BOFI"]) + digits(14)), "PT": (25, lambda: digits(21)),
    "DK": (18, lambda: digits(14)), "FI": (18, lambda: digits(14)), "LU": (20, lambda: digits(16)), "SA": (24, lambda: digits(20)),
    "AE": (23, lambda: digits(19)), "TR": (26, lambda: digits(22)), "BR": (29, lambda: digits(23) + "C" + "1"),
}


def iban(valid=True, grouped=None):
    country = rng.choice(list(IBAN_FORMATS))
    length, make = IBAN_FORMATS[country]
    bban = make()
    assert len(bban) == length - 4, country
    check = iban_check(country, bban)
    if not valid:
        check = "%02d" % ((int(check) + rng.randint(1, 96)) % 97 + 2 if int(check) < 97 else 3)
        while iban_ok(country + check + bban):
            check = "%02d" % rng.randint(2, 98)
    compact = country + check + bban
    grouped = rng.random() < 0.6 if grouped is None else grouped
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4)) if grouped else compact


def ssn_valid():
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            return "%03d" % area, "%02d" % rng.randint(1, 99), "%04d" % rng.randint(1, 9999)


def ssn(sep="-"):
    return sep.join(ssn_valid())


def phone():
    kind = rng.randint(0, 11)
    a, e, l = rng.randint(201, 989), rng.randint(200, 999), digits(4)
    while a % 100 == 11 or str(a)[1:] == "11":
        a = rng.randint(201, 989)
    return [
        f"+1 ({a}) {e}-{l}", f"({a}) {e}-{l}", f"{a}-{e}-{l}", f"{a}.{e}.{l}", f"+1-{a}-{e}-{l}", f"1-{a}-{e}-{l}",
        f"+44 20 {digits(4)} {digits(4)}", f"+44 7{digits(3)} {digits(6)}", f"020 {digits(4)} {digits(4)}", f"07{digits(3)} {digits(6)}",
        f"+49 30 {digits(8)}", f"+33 {rng.randint(1, 9)} {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
    ][kind] if kind < 12 else None


def phone_more():
    return rng.choice([
        f"0{rng.randint(1, 9)} {digits(2)} {digits(2)} {digits(2)} {digits(2)}", f"+91 9{digits(4)} {digits(5)}",
        f"+81 3-{digits(4)}-{digits(4)}", f"+61 2 {digits(4)} {digits(4)}", f"030 {digits(8)}", f"+1{rng.randint(201, 989)}{rng.randint(200, 999)}{digits(4)}",
        f"+49 (0)30 {digits(4)} {digits(4)}", f"+34 6{digits(2)} {digits(3)} {digits(3)}", f"+353 1 {digits(3)} {digits(4)}",
    ])


DOMAINS = ["example.com", "example.org", "mail.example.co.uk", "acme-corp.io", "globex.de", "uni-heidelberg.de", "initech.net", "sub.example.com"]


def email():
    first, last = rng.choice(FIRST).lower(), rng.choice(LAST).lower()
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{rng.randint(1, 99)}", f"{first}+billing",
                        f"{last}.{first}", f"{first}{rng.randint(1970, 2005)}", f"{first}-{last}", f"{first.upper()}.{last.capitalize()}"])
    return f"{local}@{rng.choice(DOMAINS)}"


def ipv4(private=None):
    kind = rng.randint(0, 3)
    if kind == 0:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if kind == 1:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if kind == 2:
        return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return ".".join(str(rng.randint(1, 223)) for _ in range(4))


def ipv6():
    groups = ["%x" % rng.randint(0, 0xffff) for _ in range(8)]
    kind = rng.randint(0, 4)
    if kind == 0:
        return ":".join(groups)
    if kind == 1:
        return f"2001:db8::{rng.randint(1, 9999)}"
    if kind == 2:
        return f"fe80::{groups[0]}:{groups[1]}:{groups[2]}:{rng.randint(1, 9)}a{rng.randint(1, 9)}"
    if kind == 3:
        return f"2a00:1450:{groups[2]}:{groups[3]}::{rng.randint(1, 200)}"
    return f"::ffff:{ipv4()}"


B62 = string.ascii_letters + string.digits


def rand(n, alphabet=B62):
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in s) and any(c.islower() for c in s) and any(c.isupper() for c in s) or alphabet != B62:
            return s


def secret():
    kind = rng.randint(0, 11)
    if kind == 0:
        return "sk-proj-" + rand(rng.choice([48, 64, 120]), B62 + "_-")
    if kind == 1:
        return "sk-" + rand(48)
    if kind == 2:
        return "sk-ant-api03-" + rand(80, B62 + "_-") + "AA"
    if kind == 3:
        return rng.choice(["AKIA", "ASIA"]) + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))
    if kind == 4:
        return rng.choice(["ghp_", "gho_", "ghs_"]) + rand(36)
    if kind == 5:
        return "github_pat_" + rand(22) + "_" + rand(59)
    if kind == 6:
        return rng.choice(["xoxb-", "xoxp-"]) + digits(12) + "-" + digits(12) + "-" + rand(24)
    if kind == 7:
        return "AIza" + rand(35, B62 + "_-")
    if kind == 8:
        header = rng.choice(["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ"])
        return header + ".eyJ" + rand(rng.randint(40, 120), B62 + "_-") + "." + rand(43, B62 + "_-")
    if kind == 9:
        return rng.choice(["sk_live_", "rk_live_", "sk_test_"]) + rand(24)
    if kind == 10:
        return rand(rng.choice([32, 40]), B62 + "/+")  # generic, e.g. an AWS secret access key
    body = "\n".join(rand(64, B62 + "/+") for _ in range(rng.randint(3, 8)))
    kind_name = rng.choice(["RSA ", "EC ", "", "OPENSSH "])
    return f"-----BEGIN {kind_name}PRIVATE KEY-----\n{body}\n-----END {kind_name}PRIVATE KEY-----"


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]


def date(year_from=1940, year_to=2005):
    y, m, d = rng.randint(year_from, year_to), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{m:02d}/{d:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d:02d}.{m:02d}.{y}", f"{MONTHS[m - 1]} {d}, {y}",
                       f"{d} {MONTHS[m - 1]} {y}", f"{MONTHS[m - 1][:3]} {d}, {y}", f"{m}/{d}/{y}"])


def account_number():
    return rng.choice([digits(rng.randint(8, 12)), digits(rng.randint(10, 14)), f"{digits(4)}-{digits(6)}"])


# ---------------------------------------------------------------- templates
records = []


def add(kind, polarity, text, pii):
    idx = sum(1 for r in records if r["id"].startswith(f"{kind}-{polarity}-"))
    for item in pii:
        assert item["value"] in text, (text, item)
    records.append({"id": f"{kind}-{polarity}-{idx + 1}", "text": text, "pii": pii})


def pos(kind, templates, make, n, type_name=None):
    for _ in range(n):
        value = make()
        template = rng.choice(templates)
        text = wrap(template.format(v=value, n=name(), c=rng.choice(COMPANIES)))
        add(kind, "pos", text, [{"type": type_name or kind, "value": value}])


class Keep(dict):
    """Leaves placeholders other than v, n, c for finish() to fill."""

    def __missing__(self, key):
        return "{" + key + "}"


def neg(kind, templates, make, n):
    for _ in range(n):
        text = rng.choice(templates).format_map(Keep(v=make(), n=name(), c=rng.choice(COMPANIES)))
        add(kind, "neg", wrap(text), [])


EMAIL_T = [
    "Please email the invoice to {v} before Friday.", "My address is {v}, reply there.", "Contact: {v}",
    "CC {v} on the thread with {c}.", "{n} <{v}> wrote: see the attached draft.", "Send the NDA to {v} and copy legal.",
    "Is {v} the right address for billing?", "Forward it to ({v}) please.", "mailto:{v}", "Reach {n} at {v}.",
    "The user {v} cannot log in since Monday.", "From: {v}\nSubject: refund request", "email={v}&plan=pro",
    "I changed my login to {v}; can you update the CRM?", "Ping {v} about the {c} renewal.",
]
pos("email", EMAIL_T, email, 320)
neg("email", [
    "Email address format is user@domain, e.g. the literal text 'user@domain'.", "Use the @{v} decorator on the handler.",
    "Mention @{v} in the channel so she sees it.", "Export the icon as logo@2x.png and logo@3x.png.",
    "Install it with npm i @angular/core and @types/node.", "Write to me at {v} at example dot com.",
    "The pattern is name@host, without a top-level domain.", "Prices: 3 @ 4.99 each, 10 @ 4.49 each.",
    "Annotate the method with @Override and @{v}.", "The tweet from @{v}_{v} went viral.", "Send it to [email redacted].",
    "Our handle is @{c} on most platforms.", "The retina asset background@2x.jpg is missing.", "Local part only: {v}@",
    "The address a@b.c is rejected because the TLD is one letter.", "git clone ssh://git.example.com/{v}/repo",
], lambda: rng.choice(FIRST).lower(), 220)

PHONE_T = [
    "Call me on {v} or at the office.", "My mobile is {v}.", "You can reach {n} at {v} after 5pm.", "Phone: {v}",
    "Tel. {v} (reception)", "Please ring {v} to confirm the booking.", "{c} support line: {v}", "Text me at {v} when you arrive.",
    "The customer's number is {v}, she prefers calls in the morning.", "Fax {v}, attention {n}.",
    "Our office number changed to {v}.", "WhatsApp {v} for the photos.", "If urgent, dial {v}.", "Contact {n} ({v}) for access.",
]
pos("phone", PHONE_T, lambda: phone() or phone_more(), 260)
pos("phone", PHONE_T, phone_more, 90)
neg("phone", [
    "Upgrade to version {v}.{v}.{v}.{v} of the SDK.", "The build 2024.11.05.{v} failed on the agent.", "ISBN 978-3-16-148410-0 is the second edition.",
    "Order number {v}{v}{v}{v}{v} shipped yesterday.", "Ticket 800-555-{v}{v}{v}{v} was closed by support.", "Room 4.12 is booked from 10:30 to 11:45.",
    "The meeting is on 2024-11-05 at 14:00.", "Invoice 2024-0001-{v}{v}{v}{v} is overdue.", "Coordinates 37.7749, -122.4194 mark the office.",
    "Pi is roughly 3.14159265358979.", "Revenue grew from 1,234,567 to 2,345,678 this year.", "Zip code 94105-{v}{v}{v}{v}.",
    "Tracking ID {v}{v}{v}{v}{v}{v}{v}{v}{v}{v}{v}{v} is in transit.", "Windows build 10.0.19045.{v}{v}{v}{v} needs a patch.",
    "The score was 120-115 after overtime.", "Read pages 123-456 before class.", "SKU 123-456-{v}{v}{v}{v} is out of stock.",
    "Our reference is REF-{v}{v}{v}-{v}{v}{v}-{v}{v}{v}{v}.", "Serial 4{v}{v}{v}-{v}{v}{v}{v}-{v}{v}{v}{v} failed QA.",
    "Release 2.14.1025.3 fixed the crash.", "Customer ID {v}{v}{v}{v}{v}{v}{v}{v}{v}{v} opened a case.", "The ratio is 1:2:3:4.",
    "Dates: 05/11/2024, 06/11/2024 and 07/11/2024.", "Use port 8080 and timeout 30000.", "Amounts 100 200 300 400 500 were paid.",
    "Between 09.00 and 17.30 every day.", "The patent US 10,123,456 B2 covers it.", "Transaction {v}{v}{v}{v}{v}{v}{v}{v}{v}{v}{v} completed.",
], lambda: str(rng.randint(0, 9)), 260)

CARD_T = [
    "My card is {v}, expiry 09/28.", "Charge {v} for the annual plan.", "Card number: {v}", "Visa {v} exp 11/27 cvv on the back.",
    "Please refund the payment made with {v}.", "{n} paid with credit card {v} yesterday.", "The declined card was {v}.",
    "Use {v} for the hotel deposit.", "cc: {v}", "Update the billing card to {v} for {c}.", "Debit card {v} was reported stolen.",
    "I typed {v} but the form says invalid.", "Payment method ending ...: full number {v}.",
]
pos("credit_card", CARD_T, card, 330)


def luhn_fail(length=16):
    while True:
        n = rng.choice("3456") + digits(length - 1)
        if not luhn_ok(n):
            return n


def grouped_fail():
    n = luhn_fail(rng.choice([15, 16]))
    return group_card(n, rng.choice([" ", "-"]))


def unknown_iin():
    return luhn_complete(rng.choice(["9", "1", "7", "0"]), 16)


neg("credit_card", [
    "Order number {v} shipped yesterday.", "Tracking {v} is stuck in customs.", "Reference {v} is attached to the claim.",
    "The invoice id {v} appears twice.", "Shipment {v} arrives Monday.",
], grouped_fail, 160)
neg("credit_card", ["Our internal id {v} is not a card.", "Batch {v} passed QA.", "Parcel {v} was delivered to the locker."], unknown_iin, 60)
neg("credit_card", ["The 20-digit ref {v} is on the letter.", "Long id {v} in the export."], lambda: digits(20), 30)
neg("credit_card", ["Short code {v} is valid for ten minutes.", "The 12-digit id {v} is ours."], lambda: digits(12), 30)
neg("credit_card", ["Device IMEI {v} is blacklisted.", "IMEI: {v}"], lambda: luhn_complete("35", 15), 40)

IBAN_T = [
    "Wire it to {v} please.", "IBAN: {v}", "Our bank details: {v}, BIC DEUTDEFF.", "Refund to {n}, IBAN {v}.",
    "Please update the supplier's account to {v}.", "SEPA transfer to {v} (reference: invoice).", "The payroll IBAN {v} bounced.",
    "{c} banks at {v}, pay within 30 days.", "Beneficiary: {n}\nIBAN: {v}", "Can you check {v} is correct?",
]
pos("iban", IBAN_T, iban, 320)
neg("iban", ["IBAN {v} was rejected by the bank.", "Wire it to {v} please.", "The IBAN {v} fails validation."], lambda: iban(valid=False), 200)
neg("iban", ["The code DE89 alone is not an account.", "Form field XX12 3456 7890 1234 5678 90 is a test value.",
             "Country code {v}00 without digits.", "Product AB12CD34EF56GH78 is in stock."], lambda: rng.choice(["DE", "FR", "GB"]), 60)

SSN_T = [
    "SSN on file: {v}.", "My social security number is {v}.", "Employee {n}, SSN {v}, starts Monday.", "SSN: {v}",
    "Please verify {v} against the W-2.", "{n}'s SSN ({v}) was entered twice.", "Social Security No. {v}", "ssn={v}",
]
pos("us_ssn", SSN_T, ssn, 200)
pos("us_ssn", ["My SSN is {v}.", "SSN {v} for the tax form.", "social security number: {v}", "SS# {v}"], lambda: ssn(rng.choice(["", " "])), 100)


def ssn_invalid():
    area, group, serial = ssn_valid()
    kind = rng.randint(0, 3)
    area = ["000", "666", "9%02d" % rng.randint(0, 99), area][kind]
    if kind == 3:
        group, serial = rng.choice([("00", serial), (group, "0000")])
    return f"{area}-{group}-{serial}"


neg("us_ssn", ["The form shows {v} which is not a valid SSN.", "Test value {v} was rejected.", "Dummy SSN {v} in the fixture."], ssn_invalid, 160)
neg("us_ssn", ["Part number {v} is back-ordered.", "Order {v} was cancelled.", "Model {v} replaces the old one.", "Claim {v} is pending."],
    ssn, 100)
neg("us_ssn", ["Customer reference {v} in the export.", "The id {v} is unique.", "Batch {v} shipped."], lambda: "".join(ssn_valid()), 60)

ABA_T = [
    "Routing number {v}, account {a}.", "ABA {v}", "Our routing number is {v} and the account is {a}.", "RTN: {v}",
    "Set up direct deposit: routing {v}, checking account {a}.", "Wire to {c}, ABA routing {v}, account no. {a}.",
    "Bank routing #: {v}", "The transit number {v} belongs to the credit union.",
]
for _ in range(250):
    v, a = aba_valid(), digits(rng.randint(8, 12))
    t = rng.choice(ABA_T)
    text = wrap(t.format(v=v, a=a, c=rng.choice(COMPANIES)))
    pii = [{"type": "aba_routing", "value": v}]
    if "{a}" in t:
        pii.append({"type": "bank_account", "value": a})
    add("aba_routing", "pos", text, pii)
neg("aba_routing", ["Routing number {v} fails the checksum.", "ABA {v} looks wrong.", "RTN {v} was rejected."], aba_invalid_checksum, 120)
neg("aba_routing", ["Customer number {v} called twice.", "Our case id {v} is open.", "Shipment {v} left the warehouse."], aba_valid, 100)
neg("aba_routing", ["Routing number {v} has an unassigned prefix.", "ABA {v} is not issued."],
    lambda: next(n for n in iter(lambda: rng.choice(["4", "5", "9"]) + digits(8), None) if aba_ok(n)), 40)

ACCOUNT_T = [
    "Bank account number: {v}.", "Please pay into account number {v} at {c}'s bank.", "My checking account {v} was overdrawn.",
    "Acct {v} at the credit union.", "Savings account {v} earns 2%.", "A/C {v}, sort code 20-00-00.", "Account no. {v}, branch Main Street.",
    "Transfer it to my bank account {v}.",
]
pos("bank_account", ACCOUNT_T, account_number, 200)
neg("bank_account", ["Your user account {v} was locked after three attempts.", "Game account {v} reached level 40.",
                     "Order number {v} is delayed.", "Account settings: page {p} of the manual.", "The account {v} has 3 followers."],
    lambda: digits(rng.randint(6, 9)), 140)

IP_T = [
    "Server {v} failed the health check.", "Requests from {v} are blocked.", "SSH into {v} and restart nginx.",
    "The client IP was {v} at 10:42.", "Add {v} to the allow list.", "ping {v}", "Our VPN gateway is {v}.",
    "Login from {v} looks suspicious.", "Set DNS to {v} on the router.", "host={v} port=5432",
]
pos("ip_address", IP_T, ipv4, 230)
pos("ip_address", IP_T, ipv6, 110)
neg("ip_address", ["Upgrade to version {v} of the SDK.", "Release {v} fixed the crash.", "We pinned the package to {v}.",
                   "Firmware {v} bricked two devices.", "The runtime was updated to {v} last week.", "Install v{v} from the feed."],
    lambda: ".".join(str(rng.randint(0, 20)) for _ in range(4)), 120)
neg("ip_address", ["The OID {v}.1 identifies the extension.", "See section {v}.2 of the spec.", "See section {v} of the spec.",
                   "Figure {v} shows the flow."], lambda: ".".join(str(rng.randint(1, 9)) for _ in range(4)), 40)
neg("ip_address", ["Octet {v} is out of range.", "The address {v} is invalid.", "Old style 0{v} with leading zeros."],
    lambda: f"{rng.randint(256, 999)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}", 40)
neg("ip_address", ["The job runs at {v} daily.", "MAC address {m} is registered.", "Use std::vector and std::map here.",
                   "Timestamp 2024-05-01T{v}Z in the log.", "Ratio 16:9 and 4:3 are supported.", "Call Foo::Bar::Baz() first."],
    lambda: f"{rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)}", 80)

SECRET_T = [
    "export OPENAI_API_KEY={v}", "The key {v} was leaked in the repo.", "Authorization: Bearer {v}", "Use token {v} for the CI job.",
    "api_key = \"{v}\"", "I accidentally pasted {v} into the chat, rotate it.", "Here is my config:\nkey: {v}\nregion: eu-west-1",
    "Found {v} in the logs.", "The secret is {v}", "Credentials below:\n{v}\nDo not share.",
]
pos("secret", SECRET_T, secret, 330)


def uuid():
    h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


neg("secret", ["Install sk-learn? No, it's scikit-learn.", "The key placeholder is sk-xxxxxxxxxxxxxxxxxxxxxxxx.",
               "Set the key to AKIAXXXXXXXXXXXXXXXX in the example.", "AKIA1234 is too short to be a key.", "The prefix ghp_ marks GitHub tokens.",
               "Request id {u} failed.", "Commit {h} fixed it.", "The class AbstractSingletonProxyFactoryBean2 is deprecated.",
               "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
               "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----", "The file is at /usr/local/share/dotnet/sdk/10.0.100/Sdks.",
               "Visit https://example.com/docs/getting-started/installation#prerequisites today.", "Digest sha256:{h}{h2} matched.",
               "Rename getUserAccountByEmailAddress2 to findUser.", "The value eyJ is just the start of base64 JSON.",
               "xoxb- tokens belong to Slack bots.", "Variable MAX_RETRY_COUNT_FOR_HTTP_CLIENT_V2 controls it.",
               "Our wiki page is Onboarding/Engineering/Setup/MacOS2024.", "Test name Should_Return_404_When_Key_Is_Missing passes.",
               "The dataset is en_core_web_sm-3.7.1 from spaCy.", "Use the key AKIA followed by sixteen characters.",
               "ASIN B07XJ8C8F5 is the product.", "Package Microsoft.Extensions.DependencyInjection.Abstractions 10.0.0 is needed."],
    lambda: None, 240)

DOB_T = ["DOB: {v}", "Date of birth {v}.", "{n} was born on {v}.", "Patient {n}, D.O.B. {v}, allergic to penicillin.",
         "Birthdate: {v}", "born {v} in Lyon", "Her birthday is {v} and she wants a cake.", "dob={v}"]
pos("date_of_birth", DOB_T, date, 200)
neg("date_of_birth", ["The meeting is on {v}.", "Invoice dated {v} is overdue.", "The contract ends {v}.", "Deployed on {v} without issues.",
                      "Born in a small town, she moved to Berlin in {y}.", "Our company was founded on {v}."],
    lambda: date(2010, 2026), 160)

# Texts without any PII at all: everyday prompts.
PLAIN = [
    "Summarise the attached meeting notes in three bullet points.", "Write a haiku about the ocean at dawn.",
    "What is the difference between TCP and UDP?", "Translate 'good morning' into Spanish and Italian.",
    "Explain how a B-tree keeps itself balanced.", "Give me a recipe for a vegan lasagne for four people.",
    "Draft an apology for the delayed shipment.", "How many moons does Jupiter have?",
    "Refactor this function to use async/await.", "List five icebreaker questions for a team offsite.",
    "We expect 25 to 30 guests, so book 4 tables.", "The quarterly target is 1.5 million, up 12% from last year.",
    "Chapter 3 covers sections 3.1 to 3.4.", "Set the timeout to 30 seconds and retry 3 times.",
]
for i in range(900):
    text = " ".join(rng.sample(PLAIN, rng.randint(1, 3)))
    add("plain", "neg", text, [])


# Fill in {v}-style placeholders left in negative templates that used other names.
def finish(r):
    t = r["text"]
    t = t.replace("{u}", uuid()).replace("{h}", "".join(rng.choice("0123456789abcdef") for _ in range(40)))
    t = t.replace("{h2}", "".join(rng.choice("0123456789abcdef") for _ in range(24)))
    t = t.replace("{m}", ":".join("%02X" % rng.randint(0, 255) for _ in range(6))).replace("{p}", str(rng.randint(2, 99)))
    t = t.replace("{y}", str(rng.randint(1950, 2000)))
    r["text"] = t
    return r


records = [finish(r) for r in records]

# Mixed texts: several values of different types in one prompt, all labelled.
for i in range(300):
    parts, pii = [], []
    for kind in rng.sample(["email", "phone", "credit_card", "iban", "us_ssn", "ip_address", "secret"], rng.randint(2, 4)):
        v = {"email": email, "phone": lambda: phone() or phone_more(), "credit_card": card, "iban": iban, "us_ssn": ssn,
             "ip_address": ipv4, "secret": lambda: secret().split("\n")[0] if False else rand(40) if rng.random() < 0.2 else "ghp_" + rand(36)}[kind]()
        label = {"email": "Email", "phone": "Phone", "credit_card": "Card", "iban": "IBAN", "us_ssn": "SSN", "ip_address": "Host",
                 "secret": "Token"}[kind]
        parts.append(f"{label}: {v}")
        pii.append({"type": kind, "value": v})
    text = f"Customer record for {name()}. " + "; ".join(parts) + ". " + rng.choice(FILLERS)
    add("mixed", "pos", text, pii)

with open("pii-corpus.jsonl", "w", encoding="utf-8") as f:
    for r in records:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(records), "records")
