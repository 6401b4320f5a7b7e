"""Data page: upload an extract, check the mapping, see and download the account."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import partial

import streamlit as st

from analysis import ExtractError
from analysis.ingest.account import account_table
from analysis.ingest.presets import preset_to_toml
from analysis.payments.persistency import DEFINITION_KEYS, PREMIUMS_RECEIVED
from analysis.report.export import mask_identifiers, to_csv_bytes, write_workbook
from analysis.store.books import SOURCE_REFRESH_HOURS
from ui import datasets as ds
from ui import formats, state, widgets
from ui import payments as ui_payments
from ui.i18n import md_escape, t, tm
from ui.tables import (
    account_sheet,
    account_view,
    column_config,
    edit_table,
    mapping_rows,
    notes_view,
    preset_from_editors,
    show_table,
    status_rows,
    status_totals,
    status_words,
    translate_columns,
)

st.title(t("data.title"))
st.caption(tm("data.caption"))
# Filled once the data set of this run is known: a reason that touches many rows is said first.
loud_slot = st.container()

choice, result = ds.active_result()

# --- widgets ---------------------------------------------------------------------
st.session_state.setdefault("data_uploader_round", 0)
left, right = st.columns([3, 2])
with left:
    uploaded = st.file_uploader(
        t("data.upload"),
        type=["csv", "txt", "xlsx", "xlsm", "xls", "parquet"],
        key=f"data_upload_{st.session_state['data_uploader_round']}",
        help=t("data.upload_help", limit=ds.upload_limit_mb()),
        on_change=ds.clear_failure,  # a new file (or none) ends the previous failure
    )
    # The payment history (缴费记录) beside the extract: attached to the book in use (section at the page's end).
    payments_file = st.file_uploader(
        t("data.payments_upload"),
        type=["csv", "txt", "xlsx", "xlsm", "xls", "parquet"],
        key=f"data_payments_upload_{st.session_state['data_uploader_round']}",
        help=t("data.payments_upload_help"),
    )
with right:
    presets = ds.shipped_presets()
    # The language is part of the key: a widget keeps the labels it was first drawn with.
    preset_name = st.selectbox(
        t("data.preset"),
        ["", *presets],
        format_func=lambda name: name or t("data.preset_auto"),
        key=state.lang_key("data_preset"),
        index=state.carried_index("data_preset", ["", *presets]),
        on_change=state.carry_over,
        args=("data_preset",),
    )
    preset_file = st.file_uploader(
        t("data.preset_upload"), type=["toml"], key="data_preset_file", help=t("widget.upload_box", limit=ds.upload_limit_mb())
    )
    # An inferred study date is said right above its override (filled once the data set is known).
    study_note = st.empty()
    override = st.checkbox(t("data.study_date_override"), key="data_override")
    study_date = st.date_input(t("data.study_date"), value=result.study_date.date(), key="data_study_date") if override else None

# The company's book (a configured source) and the sample: go back to either, or read the book again from its source.
configured = ds.configured_choice()
back_cols = st.columns(3)
if not choice.is_sample and back_cols[0].button(t("data.back_to_sample"), key="data_back"):
    state.set_active(ds.sample_choice())
    ds.clear_failure()
    st.session_state["data_uploader_round"] += 1
    st.rerun()
if (
    configured is not None
    and not state.is_configured(choice)
    and back_cols[1].button(t("data.back_to_source", name=configured.name), key="data_back_to_source")
):
    state.set_source_failure(None)  # try it again: the frame says so if it still does not open
    state.set_active(configured)
    ds.clear_failure()
    st.session_state["data_uploader_round"] += 1
    st.rerun()
if state.is_configured(choice) and back_cols[1].button(
    t("data.reload_source"), key="data_reload_source", help=t("data.reload_help", hours=SOURCE_REFRESH_HOURS)
):
    ds.reload_source(choice)
    st.rerun()

# --- a new upload or new settings become the active data set if they load ----------
if uploaded is not None:
    data = uploaded.getvalue()
    version = ds.content_version(data)
    state.remember_upload(version, data)
    preset_toml = preset_file.getvalue().decode("utf-8", errors="replace") if preset_file else presets.get(preset_name, "")
    sheets: tuple[str, ...] = ()
    try:
        sheets = ds.sheet_names(data, uploaded.name)  # read in a worker process (a workbook can crash its reader)
    except ExtractError:
        pass
    sheet = st.selectbox(t("data.sheet"), sheets, key="data_sheet") if len(sheets) > 1 else None
    # A mapping applied to this file (loaded, or tried on it after a failed load) stays until a preset is chosen.
    failed_before = ds.failed_load()
    mapped_before = failed_before[0] if failed_before is not None and failed_before[0].version == version else choice
    keep_mapping = mapped_before.version == version and mapped_before.preset_toml and not preset_file and not preset_name
    wanted = state.DataSetChoice(
        name=uploaded.name,
        version=version,
        preset_toml=mapped_before.preset_toml if keep_mapping else preset_toml,
        sheet=sheet,
        study_date=study_date.isoformat() if isinstance(study_date, dt.date) else None,
    )
    if wanted != choice and (failed_before is None or failed_before[0] != wanted):
        with st.spinner(t("data.load")):
            if ds.try_load(wanted, data):
                choice, result = wanted, ds.load_choice(wanted, data)
                st.toast(tm("data.loaded", name=uploaded.name))
elif preset_name or override:
    # The sample takes a preset and a study date; a file in use without its upload (brought back by its
    # link) takes the study date, so the override beside an inferred date always works.
    chosen = study_date.isoformat() if isinstance(study_date, dt.date) else None
    wanted = (
        replace(choice, preset_toml=presets.get(preset_name, ""), study_date=chosen)
        if choice.is_sample
        else replace(choice, study_date=chosen)
    )
    failed_before = ds.failed_load()
    if wanted != choice and (failed_before is None or failed_before[0] != wanted) and ds.try_load(wanted):
        choice, result = wanted, ds.load_choice(wanted)

# --- a load that failed: its own columns to map, and a preset that fits them ---------------
failed = ds.failed_load()
survey = ds.inspect_choice(failed[0]) if failed is not None else None
if failed is not None:
    failed_choice, error = failed
    failed_name = t("app.sample_name") if failed_choice.is_sample else failed_choice.name
    st.error(tm("data.load_failed", name=failed_name, message=ds.error_text(error)))
    st.info(tm("data.kept_previous", name=t("app.sample_name") if choice.is_sample else choice.name))
    if survey is None:
        st.caption(tm("data.no_columns_to_map"))
    else:
        for number, (label, preset_toml) in enumerate(ds.fitting_preset_choices(survey.headers, choice).items()):
            fit_cols = st.columns([3, 2])
            fit_cols[0].info(tm("data.preset_fits", preset=label, name=failed_name))
            if fit_cols[1].button(t("data.use_preset", preset=label), key=f"data_use_preset_{number}"):
                ds.try_load(replace(failed_choice, preset_toml=preset_toml))
                st.rerun()

# --- the account ---------------------------------------------------------------------
for line in ds.loud_lines(choice, result):
    loud_slot.warning(md_escape(line))
if result.study_date_inferred:
    study_note.warning(tm("data.study_date_inferred", date=result.study_date.date().isoformat(), column=result.study_date_column))
st.subheader(t("data.account"))
cols = st.columns(5)
cols[0].metric(t("data.rows_read"), formats.count(result.rows_read))
cols[1].metric(t("data.accepted"), formats.count(result.accepted))
cols[2].metric(t("data.repaired"), formats.count(result.repaired))
cols[3].metric(t("data.rejected"), formats.count(result.rejected))
cols[4].metric(t("data.skipped"), formats.count(len(result.skipped_rows)))
st.caption(
    tm(
        "data.account_identity",
        rows_read=result.rows_read,
        accepted=result.accepted,
        repaired=result.repaired,
        rejected=result.rejected,
        skipped=len(result.skipped_rows),
    )
)
source_facts = ds.source_facts(choice)
st.caption(
    tm("data.study_date_from", date=result.study_date.date().isoformat(), source=t(f"data.source.{result.study_date_source}"))
    + " · "
    + (
        tm("data.source_facts", source=source_facts[0], engine=source_facts[1])
        if source_facts is not None
        else tm(
            "data.file_facts",
            kind=result.kind,
            encoding=f" / {result.encoding}" if result.encoding else "",
            sheet=f" / {result.sheet}" if result.sheet else "",
            header_row=result.header_row,
        )
    )
)
unmapped = result.status_values[result.status_values["status"] == "unmapped"]
if len(unmapped):
    st.warning(tm("data.unmapped_statuses", n=int(unmapped["count"].sum()), values=", ".join(unmapped["value"].astype(str).head(8))))

show_identifiers = st.checkbox(t("data.show_identifiers"), value=False, key="data_show_identifiers")
table = account_table(result, mask=not show_identifiers)
sheet = account_sheet(table)
download_cols = st.columns(2)
widgets.download_button(
    download_cols[0],
    t("data.download_account_xlsx"),
    data=partial(write_workbook, {t("data.account"): sheet}),
    file_name=f"account_{choice.name.rsplit('.', 1)[0]}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="data_download_xlsx",
)
widgets.download_button(
    download_cols[1],
    t("data.download_account_csv"),
    data=partial(to_csv_bytes, sheet),
    file_name=f"account_{choice.name.rsplit('.', 1)[0]}.csv",
    mime="text/csv",
    key="data_download_csv",
)

tab_problems, tab_mapping, tab_notes, tab_preview = st.tabs(
    [t("data.problems"), t("data.mapping_tab"), t("data.column_notes"), t("data.preview")]
)
with tab_problems:
    if len(result.problems) == 0:
        st.success(tm("data.no_problems"))
    verdicts = ["all", "rejected", "repaired", "flagged", "skipped"]
    verdict = st.segmented_control(
        t("data.problem_filter"),
        verdicts,
        format_func=lambda v: t(f"action.{v}"),
        default=verdicts[state.carried_index("data_verdict", verdicts)],
        key=state.lang_key("data_verdict"),
        on_change=state.carry_over,
        args=("data_verdict",),
    )
    show_table(data=account_view(table, verdict or "all"), show_identifiers=show_identifiers, hide_index=True, width="stretch")

with tab_mapping:
    # After a failed load the editors show that file's own columns and status values, to map and load again.
    mapped, target = (survey, failed[0]) if failed is not None and survey is not None else (result, choice)
    if mapped is survey:
        st.warning(tm("data.failed_columns", name=t("app.sample_name") if target.is_sample else target.name))
    # Editors are keyed by data set and mapping, so edits never carry over to another file.
    editor_key = f"{target.version}_{ds.content_version(target.preset_toml.encode())}"
    st.markdown(f"**{t('data.mapping')}**")
    st.caption(tm("data.mapping_help"))
    edited_mapping = edit_table(
        data=mapping_rows(mapped),
        column_config={
            "canonical": None,  # the code stays in the data, the reader sees the field in words
            "label": st.column_config.TextColumn(t("col.canonical"), disabled=True),
            "source": st.column_config.SelectboxColumn(t("col.source"), options=["", *mapped.headers]),
            "confidence": st.column_config.NumberColumn(t("col.confidence"), format="%.1f", disabled=True),
        },
        hide_index=True,
        key=f"data_mapping_editor_{editor_key}",
        width="stretch",
    )
    st.markdown(f"**{t('data.statuses')}**")
    st.caption(tm("data.statuses_help"))
    edited_status = edit_table(
        data=status_rows(mapped),
        column_config={
            "value": st.column_config.TextColumn(t("col.status_value"), disabled=True),
            "count": st.column_config.NumberColumn(t("col.count"), disabled=True, format="%d"),
            "status": st.column_config.SelectboxColumn(t("col.status"), options=list(status_words().values())),
        },
        hide_index=True,
        key=f"data_status_editor_{editor_key}",
        width="stretch",
    )
    if mapped is result:
        st.caption(tm("data.status_counts"))
        show_table(data=translate_columns(status_totals(result)), hide_index=True)

    new_toml = preset_to_toml(preset_from_editors(mapped, edited_mapping, edited_status))
    apply_cols = st.columns(2)
    if apply_cols[0].button(t("data.apply_mapping"), key="data_apply", type="primary"):
        ds.try_load(replace(target, preset_toml=new_toml))
        st.rerun()  # worked: the new data set; failed: its message and columns at the top
    widgets.download_button(
        apply_cols[1],
        t("data.download_preset"),
        data=new_toml.encode("utf-8"),
        file_name="mapping.toml",
        mime="application/toml",
        key="data_download_preset",
    )

with tab_notes:
    show_table(data=notes_view(result.column_notes), hide_index=True, width="stretch")
    if result.attributes:
        st.caption(tm("data.attributes", names=", ".join(result.attributes)))

with tab_preview:
    # Personal identifiers are masked here too: the table's own toolbar can download it.
    preview = translate_columns(mask_identifiers(result.policies.head(200)))
    show_table(data=preview, hide_index=True, width="stretch", column_config=column_config(preview))

# --- the payment history (缴费记录): its mapping, its row account, the payments not in the book ---------
st.subheader(t("data.payments"))
if payments_file is not None:
    ui_payments.attach_from_uploader(choice, payments_file.file_id, payments_file.name, payments_file.getvalue())
elif choice.is_sample and not ui_payments.attached_to(choice) and st.button(t("data.payments_use_sample"), key="data_payments_sample"):
    ui_payments.attach_sample(choice)
elif (offered := ui_payments.source_offered(choice)) and st.button(t("data.payments_use_source", name=offered), key="data_payments_source"):
    ui_payments.attach_source(choice)
with st.spinner(t("data.payments_reading")):
    history = ui_payments.history_for(choice, result)
attached_payments = ui_payments.attached()
payments_name = attached_payments.name if attached_payments else ""
if history is None:
    st.caption(tm("data.payments_none" if attached_payments is None else "data.payments_other_book"))
elif isinstance(history, ExtractError):
    st.error(tm("data.payments_failed", name=payments_name, message=ds.error_text(history)))
else:
    definition = t(DEFINITION_KEYS[PREMIUMS_RECEIVED])
    if ui_payments.from_source(attached_payments):
        st.success(tm("data.payments_from_source", name=payments_name, definition=definition))
    else:
        st.success(tm("data.payments_attached", name=payments_name, definition=definition))
    counts = history.counts()
    outside = ui_payments.not_in_book(history)
    pay_cols = st.columns(5)
    pay_cols[0].metric(t("data.payments_rows"), formats.count(counts["rows"]))
    pay_cols[1].metric(t("data.payments_accepted"), formats.count(counts["accepted"]))
    pay_cols[2].metric(t("data.payments_repaired"), formats.count(counts["repaired"]))
    pay_cols[3].metric(t("data.payments_rejected"), formats.count(counts["rejected"]))
    pay_cols[4].metric(t("data.payments_not_in_book"), formats.count(counts.get("not_in_book", 0)))
    st.caption(tm("data.payments_columns", columns=ui_payments.columns_read(history)))
    problems = ui_payments.problem_rows(history)
    if len(problems):
        st.caption(tm("data.payments_problems", shown=len(problems), n=counts["repaired"] + counts["rejected"]))
        view = translate_columns(problems)
        show_table(data=view, show_identifiers=show_identifiers, hide_index=True, width="stretch", column_config=column_config(view))
    if len(outside):
        st.warning(tm("data.payments_outside", n=counts.get("not_in_book", 0), policies=len(outside)))
        view = translate_columns(outside.head(ui_payments.MAX_ROWS_SHOWN))
        show_table(data=view, show_identifiers=show_identifiers, hide_index=True, width="stretch", column_config=column_config(view))
if attached_payments is not None and ui_payments.unsaved():
    st.warning(tm("data.payments_unsaved"))
if attached_payments is not None and st.button(t("data.payments_detach"), key="data_payments_detach"):
    ui_payments.detach()
    st.rerun()
