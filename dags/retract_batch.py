"""
### Retract a load batch

Maintenance, triggered by hand only: retracts the load batch `batch_id` (a file that
loaded but is wrong) with a `reason`, as `ttw batches retract ID --reason TEXT` does. The
batch stays in `raw` for audit, marked in `ops.load_batches` (when, why, by whom: this
DAG's run); no build reads it again, the incremental models that held its rows are rebuilt
from scratch by the next build, and the same file delivered again loads as a new batch. Its
file, when still in the landing folder, moves to `_rejected/` with a note of why, so the
next daily ingest does not load it again.

Then emits the raw asset of the batch's family (`raw.registry_contracts`,
`raw.center_reports` or `raw.platform_records`), which schedules `build_warehouse`: the
retraction reaches `marts_build`, and `marts` after the audit. An unknown batch, or one
already retracted, fails the run without retries, naming it. See docs/operations.md.
"""

from __future__ import annotations

from airflow.sdk import AssetAlias, Param, dag, task

from ttw.dagkit import DAG_DEFAULTS

# the raw asset of the retracted batch's family is emitted through this alias
RETRACTED = AssetAlias("ttw.retracted_batch")


@dag(
    schedule=None,
    tags=["ttw", "maintenance"],
    params={
        "batch_id": Param(type="integer", minimum=1, description="The batch to retract (ttw batches list)."),
        "reason": Param(type="string", minLength=1, description="Why: kept with the batch."),
    },
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def retract_batch():
    @task(outlets=[RETRACTED])
    def retract(params: dict | None = None, run_id: str | None = None, outlet_events=None) -> dict:
        """Retract the batch; emit its family's raw asset, which schedules the rebuild."""
        from airflow.sdk.exceptions import AirflowFailException

        from ttw.assets import raw_asset
        from ttw.batches import operator
        from ttw.batches import retract as retract_one
        from ttw.errors import Refusal
        from ttw.settings import get_settings
        from ttw.warehouse import target_from_airflow

        params = params or {}
        settings = get_settings()
        try:
            batch = retract_one(
                target_from_airflow(),
                int(params["batch_id"]),
                str(params["reason"]),
                by=operator(f"DAG retract_batch, run {run_id}"),
                landing_root=settings.landing_dir,
            )
        except Refusal as exc:  # an unknown batch, or one retracted by someone else: a retry says the same
            raise AirflowFailException(str(exc)) from None
        outlet_events[RETRACTED].add(raw_asset(batch.family), extra={"retracted_batch": batch.batch_id})
        return {"batch_id": batch.batch_id, "family": batch.family, "source": batch.source}

    retract()


retract_batch()
