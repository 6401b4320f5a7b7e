"""LapseLens 失效保单洞察: the router and app-wide frame (language, data set, sign-in)."""

from __future__ import annotations

import os

# Idle OpenMP threads (LightGBM) sleep instead of spinning, so one session's model never
# slows the others; set before anything imports LightGBM.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import streamlit as st  # noqa: E402

from analysis.ingest.reading import prefer_jemalloc  # noqa: E402
from ui import datasets as ds  # noqa: E402
from ui import filters, state  # noqa: E402
from ui.auth import require_sign_in  # noqa: E402
from ui.datasets import active_result, open_link  # noqa: E402
from ui.i18n import LANGUAGES, t, tm  # noqa: E402

# A process setting, made once here rather than on import: Arrow's memory pool (jemalloc loads faster).
prefer_jemalloc()
st.set_page_config(page_title="LapseLens 失效保单洞察", page_icon="📉", layout="wide")
state.init_session()
require_sign_in()
# Before the page: a refresh keeps the address, so its ?ds= link brings the session's data set back.
open_link()

with st.sidebar:
    st.radio(
        t("app.language"),
        list(LANGUAGES),
        format_func=LANGUAGES.__getitem__,
        key=state.LANGUAGE,
        horizontal=True,
    )
    # Filled after the page has run, so it names the data set the page just loaded.
    dataset_slot = st.container()
    # The app-wide filter: drawn before the page, which reads it (ui.filters.filtered_book).
    filter_slot = st.container()

pages = [
    st.Page("views/data.py", title=t("nav.data"), icon=":material/upload_file:", url_path="data", default=True),
    st.Page("views/overview.py", title=t("nav.overview"), icon=":material/monitoring:", url_path="overview"),
    st.Page("views/cohorts.py", title=t("nav.cohorts"), icon=":material/groups:", url_path="cohorts"),
    st.Page("views/survival.py", title=t("nav.survival"), icon=":material/show_chart:", url_path="survival"),
    st.Page("views/drivers.py", title=t("nav.drivers"), icon=":material/psychology:", url_path="drivers"),
    st.Page("views/actions.py", title=t("nav.actions"), icon=":material/checklist:", url_path="actions"),
    st.Page("views/customer.py", title=t("nav.customer"), icon=":material/person_search:", url_path="customer"),
    st.Page("views/queue.py", title=t("nav.queue"), icon=":material/assignment_ind:", url_path="queue"),
    st.Page("views/interventions.py", title=t("nav.interventions"), icon=":material/savings:", url_path="interventions"),
    st.Page("views/campaigns.py", title=t("nav.campaigns"), icon=":material/campaign:", url_path="campaigns"),
]
if state.link_lost():
    st.warning(tm("app.link_lost"))
# Before the page: the session's data set (the company's book when configured); when it did not open, say why first.
starting, starting_result = active_result()
failure = state.source_failure()
if failure is not None and starting.is_sample:
    configured = ds.configured_choice()
    if configured is None:
        st.error(tm("app.source_config_failed", message=ds.error_text(failure)))
    else:
        st.error(tm("app.source_failed", name=configured.name, message=ds.error_text(failure)))
elif state.is_configured(starting) and (stale := ds.opened_source(starting).stale) is not None:
    st.warning(tm("app.source_stale", saved=ds.saved_text(ds.opened_source(starting).saved), message=ds.error_text(stale)))
with filter_slot:
    filters.sidebar(starting, starting_result)
# Streamlit keeps the last run's script module as ``__main__`` for the process: its globals hold
# no book once the page has run (or stopped), so a book goes from memory with the last session
# that shows it (ui/datasets.py).
del starting_result
st.navigation(pages).run()

with dataset_slot:
    choice, result = active_result()
    st.caption(tm("app.dataset"))
    name = t("app.sample_name") if choice.is_sample else choice.name
    st.text(t("app.dataset_line", name=name, rows=len(result.policies), study_date=result.study_date.date().isoformat()))
    if state.is_configured(choice):
        st.caption(tm("app.source_copy", saved=ds.saved_text(ds.opened_source(choice).saved)))
    if state.unsaved_choice() == choice:
        st.warning(tm("app.link_unsaved"))
del result
