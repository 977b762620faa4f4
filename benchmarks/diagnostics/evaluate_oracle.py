"""Oracle: the estimators on the truth of synth worlds (no linkage, no de-identification)."""
import subprocess, sys, json
import numpy as np, pandas as pd
from pathlib import Path
from sklearn.linear_model import LogisticRegression

MONTH = 30.44
OUT = {
 "lac": ("dfe/looked_after", None, (0, 17)),
 "cpp": ("dfe/children_in_need", ("episode_type", ["CPP"]), (0, 17)),
 "jsa": ("dwp/benefit_spells", ("benefit", ["JSA", "UC"]), (16, 65)),
}
def world(seed, fam, pop, null, root, extra=()):
    out = Path(root)/f"w{seed}"
    if not (out/"truth/families.parquet").exists():
        eff = sum([["--effect", f"{k}=1"] for k in ["child_looked_after","adult_custody","juvenile_custody","juvenile_conviction","jsa_claim","child_protection_plan"]], []) if null else []
        subprocess.run([".venv/bin/evalink","synth","--families",str(fam),"--population",str(pop),"--seed",str(seed),"--out",str(out),"--force"]+eff+list(extra), check=True, capture_output=True)
    return out

def estimates(w):
    fam = pd.read_parquet(w/"truth/families.parquet")
    fam = fam[fam.eligible]
    fam["cnh"] = fam.headlines.map(lambda h: "children_need_help" in list(h))
    fam["prog"] = (fam.cohort == "attached").astype(int)
    persons = pd.read_parquet(w/"truth/persons.parquet")
    members = persons[persons.family_id.isin(fam.family_id)].drop_duplicates("person_id")[["person_id","family_id","dob"]]
    rid = persons[["person_id","record_id","source"]]
    members = members.merge(fam[["family_id","index_date","n_headlines","cnh","prog"]], on="family_id")
    members["index_date"] = pd.to_datetime(members.index_date)
    members["age"] = (members.index_date - pd.to_datetime(members.dob)).dt.days / 365.25
    X = pd.get_dummies(fam.n_headlines.clip(upper=5).astype(str)).astype(float)
    X["cnh"] = fam.cnh.astype(float)
    e = LogisticRegression(C=1e6, max_iter=1000).fit(X, fam.prog).predict_proba(X)[:, 1]
    fam_e = dict(zip(fam.family_id, e))
    res = {}
    for name, (table, where, (lo, hi)) in OUT.items():
        dep, t = table.split("/")
        ev = pd.read_parquet(w/"departments"/dep/f"{t}.parquet")
        if where: ev = ev[ev[where[0]].isin(where[1])]
        ev = ev.merge(rid[rid.source == f"departments/{dep}/persons"], on="record_id")
        pop = members[(members.age >= lo) & (members.age < hi + 1)].copy()
        ev = ev.merge(pop[["person_id","index_date"]], on="person_id")
        m = (pd.to_datetime(ev.start_date) - ev.index_date).dt.days / MONTH
        ev = ev[(m >= 0) & (m < 24)]
        cnt = ev.groupby("person_id").size()
        pop["count"] = pop.person_id.map(cnt).fillna(0)
        pop["any"] = (pop["count"] > 0).astype(float)
        pop["e"] = pop.family_id.map(fam_e)
        w_ov = np.where(pop.prog == 1, 1 - pop.e, pop.e)
        w_att = np.where(pop.prog == 1, 1, pop.e / (1 - pop.e))
        for measure in ("any", "count"):
            y = pop[measure].to_numpy(); p = pop.prog.to_numpy() == 1
            for wn, ww in (("overlap", w_ov), ("att", w_att), ("naive", np.ones(len(pop)))):
                r1 = np.average(y[p], weights=ww[p]); r0 = np.average(y[~p], weights=ww[~p])
                res[(name, measure, wn)] = np.log(r1 / r0) if r1 > 0 and r0 > 0 else np.nan
            # exact strata, standardised to the programme
            g = pop.groupby([pop.n_headlines.clip(upper=5), "cnh", "prog"])[measure].agg(["mean","size"]).unstack("prog")
            g = g.dropna()
            r1 = np.average(g[("mean",1)], weights=g[("size",1)]); r0 = np.average(g[("mean",0)], weights=g[("size",1)])
            res[(name, measure, "strata")] = np.log(r1/r0) if r1 > 0 and r0 > 0 else np.nan
    return res

if __name__ == "__main__":
    fam, pop, n, first, null = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "null"
    extra = sys.argv[6:]
    tag = sys.argv[5]
    rows = []
    for s in range(first, first + n):
        w = world(s, fam, pop, null, f"/work/val/oracle-{fam}-{tag}", extra)
        r = estimates(w); r = {"|".join(k): v for k, v in r.items()}; r["seed"] = s; rows.append(r)
        print(s, flush=True)
    d = pd.DataFrame(rows).set_index("seed")
    summ = pd.DataFrame({"mean": d.mean(), "se": d.std() / np.sqrt(d.notna().sum()), "n": d.notna().sum()})
    print(summ.round(3).to_string())
