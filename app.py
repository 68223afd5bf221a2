"""PyTorch Shape Inspector, the web app: `streamlit run app.py`.

Wires the pages and the shared sidebar; each page is a thin script under app_pages/ (not pages/:
that name would switch Streamlit to its older folder-based navigation for a server's first request).
"""

import streamlit as st

from ui.errors import show_problems
from ui.navigation import show_unknown_page
from ui.query import init_lang, keep_shared_settings
from ui.sidebar import render_sidebar
from ui.state import tr

problems: list[str] = []
init_lang(problems)  # before any text: the title is translated too
st.set_page_config(page_title=tr("app.title"), page_icon=":material/search:", layout="wide")
pages = [
    st.Page(
        "app_pages/lab.py", title=tr("nav.layer_lab"), icon=":material/science:", url_path="layer_lab", default=True
    ),
    st.Page(
        "app_pages/model.py",
        title=tr("nav.model_inspector"),
        icon=":material/account_tree:",
        url_path="model_inspector",
    ),
    st.Page(
        "app_pages/builder.py", title=tr("builder.nav_title"), icon=":material/construction:", url_path="model_builder"
    ),
    st.Page("app_pages/planner.py", title=tr("planner.nav"), icon=":material/memory:", url_path="training_planner"),
    st.Page("app_pages/init.py", title=tr("nav.init_explorer"), icon=":material/casino:", url_path="init_explorer"),
    st.Page(
        "app_pages/checkpoint.py",
        title=tr("checkpoint.nav"),
        icon=":material/inventory_2:",
        url_path="checkpoint_inspector",
    ),
]
page = st.navigation(pages)
render_sidebar(problems)
show_unknown_page(pages, page)  # Streamlit opens the default page for an unknown path without a word
show_problems(problems)
keep_shared_settings()  # pages with settings of their own rewrite the whole query, these included
page.run()
