"""The demo CRM's behaviour when it executes a list, and the true effects planted per rule.

This is demo configuration, not policy: the platform never reads it (nothing under dbt_project/ or
the scoring code imports this module). It exists so that `marts.list_outcomes` (RP-15, CH-08) can be
shown to recover a known answer: the CRM contacts every `ready` row of a published retention list, and
a share p (exactly, rounded) of a rule's contacted customers, drawn by hash, places an order within
RESPONSE_DAYS on top of whatever they would have done anyway. Hold-out rows are never contacted.

So the true uplift of reactivation (treated minus hold-out) is p x (1 - r0), where r0 is the share of
the rule's customers that come back on their own within the measured window (the hold-out's rate).
For the lapsed customers of RL-01 / RL-17 r0 is small, so the uplift is close to p.
"""

from __future__ import annotations

# rule -> share of contacted customers a contact brings back (demo truth, never read by the platform)
PLANTED_EFFECTS: dict[str, float] = {
    "RL-01": 0.08,  # win-back: contacted customers reactivate at +8 points over their hold-out
    "RL-17": 0.0,  # tiered recall: no effect at all (must not be called significant)
}
DEFAULT_EFFECT = 0.0  # rules without a planted effect change nothing
RESPONSE_DAYS = 3  # a converted customer orders 0..RESPONSE_DAYS-1 days after the contact day
CONTACT_DELAY_DAYS = 1  # the CRM works the list the day after its run date

# how the CRM files each rule's contact (contract purposes); anything else is `retention`
PURPOSE_BY_RULE: dict[str, str] = {
    "RL-01": "winback",
    "RL-17": "winback",
    "RL-02": "wake_up",
    "RL-07": "care",
    "RL-08": "status_update",
    "RL-09": "care",
    "RL-16": "care",
}
DEFAULT_PURPOSE = "retention"
FALLBACK_CHANNEL = "sms"

# outcome of a contact that did not convert: (outcome, probability); a conversion is `accepted`
NON_CONVERTED_OUTCOMES: tuple[tuple[str, float], ...] = (
    ("delivered", 0.45),
    ("opened", 0.30),
    ("no_answer", 0.15),
    ("responded", 0.05),
    ("declined", 0.05),
)
ORDER_MEDIAN_AMOUNT = 60.0  # the reactivation order's net amount: lognormal around this median
ORDER_AMOUNT_SIGMA = 0.5


def effect_of(rule_code: str) -> float:
    return PLANTED_EFFECTS.get(rule_code, DEFAULT_EFFECT)


def expected_uplift(rule_code: str, holdout_rate: float) -> float:
    """The true reactivation uplift a rule's effect produces when r0 = `holdout_rate` come back anyway."""
    return effect_of(rule_code) * (1.0 - holdout_rate)
