"""Optional sign-in through Streamlit's built-in OIDC support (``st.login``).

When ``.streamlit/secrets.toml`` has an ``[auth]`` section the app asks every
visitor to sign in; without one it runs open, as on a laptop.
"""

from __future__ import annotations

import streamlit as st

from ui.i18n import t, tm


def auth_configured() -> bool:
    """True when an ``[auth]`` section is configured in the app's secrets."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return False


def signed_in_account() -> str | None:
    """The signed-in account as stable text (issuer and subject, else e-mail), or None when sign-in is off.

    Kept data sets are tied to it (``ui.datasets``): another account's link opens nothing.
    """
    if not auth_configured() or not st.user.is_logged_in:
        return None
    # OpenID Connect always sends a subject; a signed-in account never counts as "nobody".
    return f"{st.user.get('iss') or ''}|{st.user.get('sub') or st.user.get('email') or ''}"


def require_sign_in() -> None:
    """Stop the script with a sign-in button for visitors not signed in (when configured)."""
    if not auth_configured():
        return
    if not st.user.is_logged_in:
        st.title(t("app.title"))
        st.info(tm("app.sign_in_needed"))
        st.button(t("app.sign_in"), on_click=st.login, key="app_sign_in")
        st.stop()
    with st.sidebar:
        st.caption(tm("app.signed_in", user=st.user.get("email") or st.user.get("name") or "?"))
        st.button(t("app.sign_out"), on_click=st.logout, key="app_sign_out")
