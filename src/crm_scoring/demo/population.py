"""Static customer attributes: segment, geography, contact details, latent traits.

Segments differ in activity, purchase rate, basket size and baseline churn hazard; a Pareto-ish
spend multiplier gives the long tail (a handful of customers above the VIP threshold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_scoring.demo.timeline import Timeline

SEGMENTS = ("champion", "loyal", "regular", "occasional")
SEGMENT_SHARE = np.array([0.03, 0.17, 0.40, 0.40])
INTERACTION_RATE = np.array([0.55, 0.28, 0.11, 0.04])  # events per day, median
ORDER_RATE = np.array([0.07, 0.03, 0.010, 0.0035])  # orders per day, median
BASKET_CNY = np.array([1200.0, 450.0, 220.0, 150.0])  # median order value
BASE_HAZARD = np.array([0.00025, 0.0005, 0.0010, 0.0017])  # daily churn hazard before drivers

# country, region, timezone, weight, share preferring zh-CN, phone prefix
REGIONS = (
    ("GB", "England", "Europe/London", 0.16, 0.03, "+44 7700 9"),
    ("GB", "Scotland", "Europe/London", 0.03, 0.02, "+44 7700 9"),
    ("US", "California", "America/Los_Angeles", 0.08, 0.08, "+1 415 555 0"),
    ("US", "New York", "America/New_York", 0.07, 0.06, "+1 212 555 0"),
    ("US", "Texas", "America/Chicago", 0.04, 0.03, "+1 512 555 0"),
    ("CA", "Ontario", "America/Toronto", 0.04, 0.08, "+1 416 555 0"),
    ("AU", "New South Wales", "Australia/Sydney", 0.06, 0.08, "+61 491 570 "),
    ("SG", "Singapore", "Asia/Singapore", 0.10, 0.35, "+65 8"),
    ("HK", "Hong Kong", "Asia/Hong_Kong", 0.06, 0.40, "+852 5"),
    ("CN", "Shanghai", "Asia/Shanghai", 0.08, 0.85, "+86 138 "),
    ("CN", "Guangdong", "Asia/Shanghai", 0.07, 0.85, "+86 139 "),
    ("CN", "Beijing", "Asia/Shanghai", 0.05, 0.85, "+86 136 "),
    ("DE", "Bavaria", "Europe/Berlin", 0.05, 0.02, "+49 1512 "),
    ("IE", "Dublin", "Europe/Dublin", 0.03, 0.02, "+353 85 "),
    ("MY", "Kuala Lumpur", "Asia/Kuala_Lumpur", 0.08, 0.25, "+60 12 "),
)
REGION_WEIGHT = np.array([r[3] for r in REGIONS]) / sum(r[3] for r in REGIONS)

FIRST = (
    "alex",
    "sam",
    "jordan",
    "li",
    "wei",
    "mei",
    "chris",
    "taylor",
    "ana",
    "raj",
    "priya",
    "tom",
    "emma",
    "noah",
    "olivia",
    "liam",
    "yan",
    "hui",
    "kai",
    "zoe",
    "max",
    "leo",
    "mia",
    "ella",
)
LAST = (
    "smith",
    "chen",
    "wang",
    "brown",
    "lee",
    "tan",
    "patel",
    "jones",
    "zhang",
    "liu",
    "wong",
    "garcia",
    "miller",
    "ng",
    "lim",
    "kumar",
    "davis",
    "wilson",
    "huang",
    "zhao",
)
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")


@dataclass
class Population:
    """One chunk of customers; arrays are indexed by local position 0..n-1."""

    number: np.ndarray  # global customer number (1-based)
    cid: np.ndarray  # customer_id strings (object array)
    segment: np.ndarray
    reg_day: np.ndarray  # may be negative (registered before the history window)
    reg_ts: np.ndarray
    dormant: np.ndarray  # lapsed before the history window: no activity at all
    region: np.ndarray
    zh: np.ndarray  # prefers zh-CN
    interaction_rate: np.ndarray
    order_rate: np.ndarray
    basket: np.ndarray  # median order value, CNY
    base_hazard: np.ndarray
    grumpiness: np.ndarray  # latent: more complaints and harsher tone
    complaint_rate: np.ndarray
    request_rate: np.ndarray
    channel_pref: np.ndarray  # 0 app-first, 1 web-first, 2 store-first
    birth_doy: np.ndarray  # -1 unknown
    email: np.ndarray
    phone: np.ndarray
    account_manager: np.ndarray  # -1 none

    def __len__(self) -> int:
        return len(self.number)


def draw_population(rng: np.random.Generator, first_number: int, n: int, tl: Timeline) -> Population:
    seg = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARE)
    # registration: years before the window (skewed recent), inside the history, or during the daily period
    n_daily = tl.end_day - tl.start_day
    p_new = min(0.06, 0.002 * n_daily)
    u = rng.random(n)
    before = -1 - np.floor(6 * 365 * rng.random(n) ** 1.6).astype(np.int64)
    during = rng.integers(0, tl.start_day + 1, n)
    daily = rng.integers(tl.start_day + 1, tl.end_day + 1, n) if n_daily > 0 else during
    reg_day = np.where(u < p_new, daily, np.where(u < p_new + 0.30, during, before))
    reg_ts = tl.ts(reg_day, rng.integers(6 * 3600, 23 * 3600, n))
    dormant = (reg_day < -120) & (rng.random(n) < 0.10)

    region = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHT)
    zh_share = np.array([r[4] for r in REGIONS])[region]
    zh = rng.random(n) < zh_share

    act = INTERACTION_RATE[seg] * np.exp(rng.normal(0, 0.5, n))
    # spend multiplier: lognormal body with a Pareto tail for the heaviest spenders
    mult = np.exp(rng.normal(0, 0.55, n)) * np.where(rng.random(n) < 0.02, 1 + rng.pareto(1.6, n), 1.0)
    order_rate = ORDER_RATE[seg] * np.exp(rng.normal(0, 0.45, n))
    grump = rng.normal(0, 1, n)
    complaint_rate = 0.0016 * np.exp(0.9 * grump + rng.normal(0, 0.5, n))
    request_rate = 0.0025 * np.exp(rng.normal(0, 0.6, n)) * np.sqrt(act / INTERACTION_RATE[seg])

    birth = np.where(rng.random(n) < 0.88, rng.integers(0, 365, n), -1)
    number = np.arange(first_number, first_number + n, dtype=np.int64)
    email = _emails(rng, number)
    phone = _phones(rng, region)
    email[rng.random(n) < 0.05] = ""
    phone[rng.random(n) < 0.15] = ""
    manager = np.where(seg == 0, rng.integers(1, 41, n), -1)
    return Population(
        number=number,
        cid=np.array([f"C{x:07d}" for x in number.tolist()], dtype=object),
        segment=seg,
        reg_day=reg_day,
        reg_ts=reg_ts,
        dormant=dormant,
        region=region,
        zh=zh,
        interaction_rate=act,
        order_rate=order_rate,
        basket=BASKET_CNY[seg] * mult,
        base_hazard=BASE_HAZARD[seg],
        grumpiness=grump,
        complaint_rate=complaint_rate,
        request_rate=request_rate,
        channel_pref=rng.choice(3, size=n, p=[0.55, 0.35, 0.10]),
        birth_doy=birth,
        email=email,
        phone=phone,
        account_manager=manager,
    )


def _emails(rng: np.random.Generator, number: np.ndarray) -> np.ndarray:
    n = len(number)
    f = rng.integers(0, len(FIRST), n).tolist()
    la = rng.integers(0, len(LAST), n).tolist()
    d = rng.integers(0, len(DOMAINS), n).tolist()
    style = rng.integers(0, 3, n).tolist()
    out = []
    for num, a, b, c, s in zip(number.tolist(), f, la, d, style, strict=True):
        local = (f"{FIRST[a]}.{LAST[b]}{num}", f"{FIRST[a][0]}{LAST[b]}{num}", f"{LAST[b]}_{FIRST[a]}{num}")[
            s
        ]
        out.append(f"{local}@{DOMAINS[c]}")
    return np.asarray(out, dtype=object)


def _phones(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    digits = rng.integers(0, 10**8, len(region)).tolist()
    prefix = [REGIONS[r][5] for r in region.tolist()]
    out = []
    for p, d in zip(prefix, digits, strict=True):
        need = 11 - sum(ch.isdigit() for ch in p)  # keep numbers a plausible length
        out.append(p + f"{d:08d}"[: max(3, min(8, need))])
    return np.asarray(out, dtype=object)
