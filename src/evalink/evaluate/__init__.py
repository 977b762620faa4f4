"""evaluate: what the programme changed, measured at the research node under a
registered analysis plan (`evalink evaluate`).

    from evalink.evaluate import load_plan, evaluate, write_outputs
    plan = load_plan("examples/evaluation-plan.yaml")
    result = evaluate(node, plan)          # registers the plan, then estimates
    write_outputs(result, Path("workspace"))

- `plan`: the analysis plan as data, its hash, and its checks against the dataset;
- `registry`: pre-registration in the research node's audit log;
- `frame`: the research dataset → each outcome's persons, covariates and windows;
- `weighting`: the primary estimator (propensity-score weighting, bootstrap over families);
- `staggered`: Callaway & Sant'Anna with not-yet-treated comparisons (diff-diff);
- `balance`, `costs`: standardised mean differences; costs and benefits per £1;
- `outputs`, `report`: the tables and the HTML report in the researcher's workspace.
"""

from evalink.evaluate.evaluation import Evaluation, evaluate
from evalink.evaluate.outputs import write_outputs
from evalink.evaluate.plan import Plan, RegisteredPlan, load_plan
from evalink.evaluate.registry import PlanRefused, Registration, registrations

__all__ = [
    "Evaluation",
    "Plan",
    "PlanRefused",
    "RegisteredPlan",
    "Registration",
    "evaluate",
    "load_plan",
    "registrations",
    "write_outputs",
]
