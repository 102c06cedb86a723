"""Policy profile and status: which thresholds are starter defaults, and which rules are off and why.

The logic lives in dbt (int_policy__rule_readiness, marts.rule_activity, marts.policy_parameter_status);
this package only reads and prints it, so the CLI and the marts can never disagree.
"""

from __future__ import annotations

PROFILE_ENV = "CRM_POLICY_PROFILE"
PROFILES = ("starter", "strict")
