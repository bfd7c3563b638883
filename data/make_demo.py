"""Make the built-in demo: an ad-marketplace table where the model predicts whether a shown ad converts.

Run ``python data/make_demo.py`` to regenerate ``data/ads.parquet`` (fixed seed, same bytes each time).

Design of the synthetic truth, so the demo shows real trade-offs:
- conversion depends non-linearly on relevance × user intent and on interactions (device × hour),
  so boosted trees beat a linear model by a visible but modest margin;
- age bands differ in base rate and are correlated with proxies (device mix, sessions, category
  interest), so a more accurate model also tends to widen the selection-rate gap (fairness vs accuracy);
- ``fee_eur`` is the advertiser's fee per conversion (the per-row value), ``ad_id`` an identifier and
  ``shown_at`` a timestamp, both of which the loader must drop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261123
N_ROWS = 20_000
OUT = Path(__file__).with_name("ads.parquet")

AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55+"]
AGE_SHARE = [0.18, 0.30, 0.24, 0.16, 0.12]
CATEGORIES = ["fashion", "electronics", "travel", "finance", "games", "home", "health"]
REGIONS = ["north", "south", "east", "west", "capital"]


def make(n: int = N_ROWS, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age_i = rng.choice(len(AGE_BANDS), size=n, p=AGE_SHARE)
    age = np.array(AGE_BANDS)[age_i]
    # proxies correlated with age
    p_mobile = np.array([0.85, 0.75, 0.6, 0.45, 0.3])[age_i]
    u = rng.random(n)
    device = np.where(u < p_mobile, "mobile", np.where(u < p_mobile + (1 - p_mobile) * 0.8, "desktop", "tablet"))
    sessions = rng.poisson(np.array([14, 11, 9, 7, 6])[age_i]) + 1
    past_clicks = rng.poisson(0.3 * sessions)
    cat_pref = np.array(
        [
            [0.30, 0.20, 0.10, 0.03, 0.25, 0.05, 0.07],
            [0.20, 0.22, 0.15, 0.10, 0.13, 0.10, 0.10],
            [0.12, 0.18, 0.18, 0.17, 0.07, 0.18, 0.10],
            [0.08, 0.12, 0.22, 0.22, 0.03, 0.20, 0.13],
            [0.06, 0.08, 0.24, 0.22, 0.02, 0.18, 0.20],
        ]
    )
    cat_i = np.array([rng.choice(len(CATEGORIES), p=cat_pref[a]) for a in age_i])
    category = np.array(CATEGORIES)[cat_i]
    region = rng.choice(REGIONS, size=n, p=[0.2, 0.2, 0.2, 0.2, 0.2])
    hour = rng.integers(0, 24, size=n)
    position = rng.integers(1, 6, size=n)
    relevance = np.clip(rng.beta(2, 3, size=n) + 0.1 * (cat_i == age_i % 7), 0, 1)
    bid_cpc = np.round(rng.gamma(2.0, 0.35, size=n) * np.array([1, 1.4, 1.8, 2.2, 0.8, 1.2, 1.5])[cat_i], 2)
    page_quality = np.clip(rng.normal(0.6, 0.15, size=n), 0, 1)
    hist_ctr = np.clip(rng.beta(2, 40, size=n) + 0.02 * relevance, 0, 1)
    fee = np.round(rng.lognormal(np.log(np.array([4, 12, 25, 30, 3, 10, 8])[cat_i]), 0.4), 2)

    intent = np.log1p(past_clicks) / np.log1p(sessions + 1)
    evening = ((hour >= 18) & (hour <= 23)).astype(float)
    logit = (
        -3.4
        + 2.6 * relevance * (0.5 + intent)  # interaction: linear models miss part of it
        + 1.2 * np.sin(np.pi * relevance) * page_quality
        + 0.9 * evening * (device == "mobile")  # device × time interaction
        - 0.35 * (position - 1)
        + 18.0 * hist_ctr
        - 0.25 * np.log1p(bid_cpc)
        + np.array([-0.45, -0.1, 0.15, 0.35, 0.55])[age_i]  # base rates differ by age band
        + 0.25 * (device == "desktop")
        + np.array([0.2, -0.1, 0.3, 0.0, -0.3, 0.1, 0.0])[cat_i]
        + 0.6 * (relevance > 0.7) * (past_clicks >= 3)  # a threshold effect trees find
    )
    p = 1 / (1 + np.exp(-logit))
    converted = (rng.random(n) < p).astype(int)

    start = np.datetime64("2026-09-01T00:00:00")
    shown_at = start + rng.integers(0, 60 * 24 * 3600, size=n).astype("timedelta64[s]")
    df = pd.DataFrame(
        {
            "ad_id": np.arange(100_000, 100_000 + n),
            "shown_at": pd.to_datetime(shown_at).strftime("%Y-%m-%d %H:%M:%S"),
            "age_band": age,
            "device": device,
            "region": region,
            "ad_category": category,
            "hour": hour,
            "slot_position": position,
            "relevance": np.round(relevance, 4),
            "page_quality": np.round(page_quality, 4),
            "hist_ctr": np.round(hist_ctr, 5),
            "bid_cpc": bid_cpc,
            "user_sessions_30d": sessions,
            "user_past_clicks": past_clicks,
            "fee_eur": fee,
            "converted": converted,
        }
    )
    # a little honest mess: missing values in two features
    miss = rng.random(n)
    df.loc[miss < 0.03, "page_quality"] = np.nan
    df.loc[(miss > 0.5) & (miss < 0.52), "device"] = None
    return df


if __name__ == "__main__":
    frame = make()
    frame.to_parquet(OUT, index=False, compression="zstd")
    rates = frame.groupby("age_band")["converted"].mean().round(3).to_dict()
    print(f"wrote {OUT} ({len(frame)} rows, base rate {frame['converted'].mean():.3f}, by age {rates})")
