"""Retention: what each node holds and when the policy says it must be destroyed.

So far `status` only reports; destroying what is due (crypto-shredding, certificates)
is issue 13's work still to come.
"""

from evalink.retention.status import Holding, governing_rule, status

__all__ = ["Holding", "governing_rule", "status"]
