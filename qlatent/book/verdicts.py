"""Each chapter's verdicts on the paper's claims, and how a page shows them.

:func:`chapter_verdicts` computes one table per chapter, from the tables of one source
(:class:`qlatent.book.evidence.Evidence`), with a ``section`` column naming the paper's figure,
table or appendix each row tests (:data:`SECTIONS`). The chapter prints it with
:func:`verdict_lines`; the claims page gathers every chapter's (:mod:`qlatent.book.claims`), so both
read the same computation.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from qlatent.book.evidence import Evidence

#: The paper's claims by section, in the paper's order: (section, chapter).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("Fig. 1", "03_mixture"), ("Fig. 2", "03_mixture"), ("App. C", "03_mixture"),
    ("Table I", "04_discrete"),
    ("Table II", "05_qm9"), ("size trend", "05_qm9"), ("loop circuits", "05_qm9"), ("App. H", "05_qm9"),
    ("hardware", "05_qm9"),
    ("App. F", "06_flows_diffusion"), ("App. G", "06_flows_diffusion"),
)

#: Context columns a verdict row may carry, in the order a comparison names them.
CONTEXT = ("dataset", "size", "circuit", "family")


def _plain(value: Any) -> Any:
    """``16`` for a size a table with missing cells turned into ``16.0``."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value != ""


def comparison(row: Any) -> str:
    """How a verdict row's comparison reads: ``"boson vs bernoulli, fcd, size 16"``, ``"depth 7 vs
    depth 1, between_modes"``, ``"size 16 vs size 32, fcd, boson against gaussian"``; the metric
    alone for a claim without sides (App. H); ``"the paper's hardware"`` for a row with neither."""
    from qlatent.stats import name_of

    get = row.get if hasattr(row, "get") else (lambda key, default=None: getattr(row, key, default))
    axis = get("axis") if _present(get("axis")) else "latent"
    parts = []
    if _present(get("better")) and _present(get("worse")):
        sides = f"{name_of(axis, _plain(get('better')))} vs {name_of(axis, _plain(get('worse')))}"
        parts.append(sides + (" (the paper: no difference)" if get("kind") == "no difference" else ""))
    if _present(get("metric")):
        parts.append(str(get("metric")))
    parts += [f"{key} {_plain(get(key))}" for key in CONTEXT if _present(get(key))]
    if _present(get("control")):
        parts.append(f"boson against {get('control')}")
    return ", ".join(parts) or f"the paper's {get('section', 'claim')}"


def verdict_lines(verdicts: pd.DataFrame, details: str = "How each verdict was reached") -> str:
    """Markdown: one short line per verdict (``**verdict** — comparison: evidence``), then the full
    sentences in a collapsed ``<details>`` block titled ``details``. ``""`` for no rows."""
    if verdicts.empty:
        return ""
    lines = [f"* **{row['verdict']}** — {comparison(row)}: {row['evidence']}" for _, row in verdicts.iterrows()]
    sentences = "\n".join(f"* {sentence}" for sentence in verdicts["sentence"])
    return ("\n".join(lines) + f"\n\n<details><summary>{html.escape(details)}</summary>\n\n{sentences}\n\n"
            "</details>\n")


def _row(section: str, verdict: Any, **columns: Any) -> dict[str, Any]:
    """A verdict row from a :class:`qlatent.stats.Verdict`."""
    return {"section": section, **columns, "verdict": verdict.verdict, "evidence": verdict.evidence,
            "sentence": verdict.sentence, **verdict.statistics}


def not_run(section: str, reason: str, statement: str, **columns: Any) -> dict[str, Any]:
    """A row for a claim this source cannot test: verdict **not run**, ``reason`` as its evidence."""
    from qlatent.stats import NOT_RUN

    return {"section": section, **columns, "verdict": NOT_RUN, "evidence": reason,
            "sentence": f"**{NOT_RUN}** — {statement}. Not tested: {reason}."}


def mixture_verdicts(source: Evidence) -> pd.DataFrame:
    """Fig. 2 (boson against each latent at depth 2, step ``compare_step``), Fig. 1 (depth 7 against
    depth 1 with the Gaussian latent, at its last step) and App. C (the gap between the
    distinguishable and boson latents closing from ``compare_step`` to the last step)."""
    from qlatent.experiments import mixture
    from qlatent.paper import Claim, reported_comparisons, stated_claims
    from qlatent.stats import gap_closing_verdict, paired_gap_along_training, verdict_table

    runs, curves = source.tables["runs"], source.tables["curves"]
    step = int(source.parameters["compare_step"])
    scores = mixture.scores_at_step(curves, step)
    fig2 = verdict_table(scores[scores["depth"] == 2], reported_comparisons("mixture", "boson", mixture.METRICS),
                         mixture.METRICS).assign(section="Fig. 2")
    stated = stated_claims("mixture", "depth")[0]
    depth_claim = Claim({}, stated["metric"], stated["better"], stated["worse"][0], stated["statement"], axis="depth")
    gaussian_steps = runs.loc[runs["latent"] == "gaussian", "n_steps"]
    if len(gaussian_steps):
        at_step = mixture.scores_at_step(curves, int(gaussian_steps.min()))
        fig1 = verdict_table(at_step[at_step["latent"] == "gaussian"], [depth_claim], mixture.METRICS, group="depth")
    else:
        fig1 = pd.DataFrame([not_run("Fig. 1", "no Gaussian-latent runs", stated["statement"],
                                     metric=stated["metric"], better=7, worse=1, axis="depth")])
    rows = [fig2, fig1.assign(section="Fig. 1")]
    stated = stated_claims("mixture", "step")[0]
    final_step = int(runs.loc[runs["depth"] == 2, "n_steps"].max())
    ran = set(runs.loc[runs["depth"] == 2, "latent"])
    if not {"boson", "distinguishable"} <= ran:
        rows.append(pd.DataFrame([not_run("App. C", "needs the boson and distinguishable latents", stated["statement"],
                                          metric="gap", axis="step")]))
    elif final_step <= step:
        rows.append(pd.DataFrame([not_run("App. C", f"the runs stop at step {final_step}", stated["statement"],
                                          metric="gap", axis="step")]))
    else:
        gaps = paired_gap_along_training(curves[curves["depth"] == 2], "eval_between_modes", "boson",
                                         "distinguishable", steps=[step, final_step])
        claim = Claim({}, "gap", final_step, step, stated["statement"], axis="step")
        verdict = gap_closing_verdict(gaps, claim, ahead="boson", behind="distinguishable")
        rows.append(pd.DataFrame([_row("App. C", verdict, metric="gap", better=final_step, worse=step, axis="step")]))
    return pd.concat(rows, ignore_index=True)


def longer_training(source: Evidence, latents: tuple[str, ...] = ("gaussian", "bernoulli")) -> pd.DataFrame:
    """App. C's second remark, that further training does not improve the Gaussian and Bernoulli
    latents: per latent at depth 2, the change of ``between_modes`` from ``compare_step`` to the last
    step (``change``: mean over seeds, negative is an improvement), the paired t-test's ``p``, the
    ``seeds`` and the smallest change they detect with 80 % power (``mdd``). Empty when the runs
    stop at ``compare_step``."""
    from qlatent.experiments import mixture
    from qlatent.stats import paired_statistics

    runs, curves = source.tables["runs"], source.tables["curves"]
    early, late = int(source.parameters["compare_step"]), int(runs.loc[runs["depth"] == 2, "n_steps"].max())
    rows = []
    if late > early:
        scores = {step: mixture.scores_at_step(curves, step).query("metric == 'between_modes' and depth == 2")
                  for step in (early, late)}
        for latent in [name for name in latents if name in set(scores[late]["latent"])]:
            before, after = (scores[step][scores[step]["latent"] == latent].set_index("seed")["value"]
                             for step in (early, late))
            change = (after - before).dropna()
            tests = paired_statistics(change.to_numpy())
            rows.append({"latent": latent, "from step": early, "to step": late, "change": tests["mean"],
                         "p": tests["p_t"], "seeds": tests["n"], "mdd": tests["mdd"]})
    return pd.DataFrame(rows, columns=["latent", "from step", "to step", "change", "p", "seeds", "mdd"])


def discrete_verdicts(source: Evidence) -> pd.DataFrame:
    """Table I: boson against each latent per dataset, on the paper's metric."""
    from qlatent.experiments import discrete
    from qlatent.paper import reported_comparisons
    from qlatent.stats import verdict_table

    claims = reported_comparisons("table1", "boson", {discrete.PAPER_METRIC: True}, context=("dataset",))
    return verdict_table(source.tables["runs"], claims, discrete.METRICS).assign(section="Table I")


def qm9_verdicts(source: Evidence) -> pd.DataFrame:
    """Table II, the size trend and the loop circuits (:func:`qlatent.experiments.qm9.table2_verdicts`),
    App. H (:func:`qlatent.experiments.qm9.fast_schedule_verdicts`) and the hardware runs (not run:
    the paper states no comparison, and no hardware shots are recorded)."""
    from qlatent.experiments import qm9
    from qlatent.paper import statements

    runs = source.tables["runs"]
    table2 = qm9.table2_verdicts(runs)
    table2 = table2.assign(section=table2["part"].map({"table2": "Table II", "loops": "loop circuits",
                                                       "size trend": "size trend"}))
    fast = qm9.fast_schedule_verdicts(qm9.paired_tables(runs)).assign(section="App. H")
    if fast.empty:
        fast = pd.DataFrame([not_run("App. H", "no fast-schedule runs", statements("table2")["appendix_h"])])
    hardware = not_run("hardware", "no hardware shots here; the pt2 latent simulates the device",
                       statements("table2")["hardware"])
    return pd.concat([table2, fast, pd.DataFrame([hardware])], ignore_index=True)


def flows_verdicts(source: Evidence) -> pd.DataFrame:
    """App. F (the DDGAN) and App. G (flow matching): training works with photon-count latents
    (:func:`qlatent.experiments.flows_diffusion.compatibility_verdict`)."""
    from qlatent.experiments import flows_diffusion as fd
    from qlatent.paper import statements

    curves = source.tables["curves"]
    rows = []
    for section, family in (("App. F", "ddgan"), ("App. G", "flow_matching")):
        if family in set(curves["family"]):
            rows.append({"section": section, "family": family, **fd.compatibility_verdict(curves, family)})
        else:
            rows.append(not_run(section, f"no {family} runs", statements("flows_diffusion")[family], family=family))
    return pd.DataFrame(rows)


#: The verdict function of each chapter.
CHAPTER_VERDICTS: dict[str, Callable[[Evidence], pd.DataFrame]] = {
    "03_mixture": mixture_verdicts, "04_discrete": discrete_verdicts, "05_qm9": qm9_verdicts,
    "06_flows_diffusion": flows_verdicts,
}


def chapter_verdicts(source: Evidence) -> pd.DataFrame:
    """The verdicts of ``source.chapter`` on the paper's claims, with ``section``, ``source`` (the
    source's label) and the statistics of each test.

    Raises
    ------
    KeyError
        If the chapter tests no claim of the paper.
    """
    table = CHAPTER_VERDICTS[source.chapter](source)
    return table.assign(source=source.label)
