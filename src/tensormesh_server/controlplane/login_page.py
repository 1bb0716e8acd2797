"""The HTML of the browser login page: sign in, then approve or deny the terminal's code.

Plain HTML with a small inline style sheet and one same-origin script; nothing is loaded from
the network. Every value is HTML-escaped. Element ids are stable for tests: `#cli-code`,
`#email`, `#password`, `#sign-in`, `#approve`, `#deny`, `#sign-out`, `#message`.
"""

from __future__ import annotations

from html import escape

SCRIPT_PATH = "/auth/cli/login.js"

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;
color:#1d2330;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border:1px solid #dde1e7;border-radius:10px;padding:32px 36px;width:360px;
box-shadow:0 2px 10px rgba(0,0,0,.06)}
h1{font-size:20px;margin:0 0 6px}p{line-height:1.45;margin:8px 0}
.brand{font-weight:600;color:#4451d6;letter-spacing:.02em;font-size:13px;text-transform:uppercase}
.code{font:600 28px/1.2 ui-monospace,SFMono-Regular,Menlo,monospace;letter-spacing:.12em;
text-align:center;background:#f0f2ff;border-radius:8px;padding:14px 0;margin:16px 0}
label{display:block;font-size:14px;margin:14px 0 4px}
input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;
padding:9px 10px;border:1px solid #c6ccd6;border-radius:6px;font-size:15px}
button{font-size:15px;padding:9px 16px;border-radius:6px;border:1px solid #4451d6;
background:#4451d6;color:#fff;cursor:pointer;margin-top:18px}
button.secondary{background:#fff;color:#1d2330;border-color:#c6ccd6}
button:disabled{opacity:.6;cursor:default}.row{display:flex;gap:10px}.row form{flex:1}
.row button{width:100%}.error{color:#b3261e}.muted{color:#5d6675;font-size:13px}
.linkish{background:none;border:none;color:#4451d6;padding:0;margin:0;font-size:13px}
"""

SCRIPT = """\
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var first = document.querySelector("input:not([type=hidden])");
  if (first) { first.focus(); }
  var code = document.getElementById("code-input");
  if (code) {
    code.addEventListener("input", function () {
      var raw = code.value.toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 8);
      code.value = raw.length > 4 ? raw.slice(0, 4) + "-" + raw.slice(4) : raw;
    });
  }
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      document.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    });
  });
});
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · Tensormesh</title><style>{_STYLE}</style>"
        f'<script src="{SCRIPT_PATH}" defer></script></head>'
        f"<body><main><div class=brand>Tensormesh</div>{body}</main></body></html>\n"
    )


def _hidden(name: str, value: str) -> str:
    return f'<input type=hidden name="{escape(name)}" value="{escape(value)}">'


def _code_box(code: str) -> str:
    return f'<div class=code id=cli-code aria-label="login code">{escape(code)}</div>'


def sign_in_page(code: str, csrf: str, email: str = "", error: str = "") -> str:
    """The sign-in form, with the code the terminal shows."""
    problem = f"<p class=error id=message role=alert>{escape(error)}</p>" if error else ""
    return _page(
        "Sign in",
        "<h1>Sign in to authorize the CLI</h1>"
        "<p>Check that this code matches the one in your terminal:</p>"
        f"{_code_box(code)}{problem}"
        '<form method=post action="/auth/cli/authorize">'
        f"{_hidden('csrf_token', csrf)}{_hidden('code', code)}{_hidden('action', 'sign-in')}"
        "<label for=email>Email</label>"
        "<input type=email id=email name=email autocomplete=username required "
        f'value="{escape(email)}">'
        "<label for=password>Password</label>"
        "<input type=password id=password name=password autocomplete=current-password required>"
        "<button type=submit id=sign-in>Sign in</button></form>",
    )


def approve_page(code: str, csrf: str, email: str) -> str:
    """Approve or deny the code, signed in as `email`."""

    def form(action: str, label: str, css: str) -> str:
        return (
            f'<form method=post action="/auth/cli/authorize">{_hidden("csrf_token", csrf)}'
            f"{_hidden('code', code)}{_hidden('action', action)}"
            f'<button type=submit id={action} class="{css}">{escape(label)}</button></form>'
        )

    return _page(
        "Authorize the CLI",
        "<h1>Authorize the Tensormesh CLI?</h1>"
        f"<p>Signed in as <strong id=user-email>{escape(email)}</strong>.</p>"
        "<p>Approve only if this code matches the one in your terminal:</p>"
        f"{_code_box(code)}"
        "<p class=muted>The terminal will get a control-plane token for your account.</p>"
        f"<div class=row>{form('approve', 'Approve', '')}{form('deny', 'Deny', 'secondary')}</div>"
        f'<form method=post action="/auth/cli/authorize">{_hidden("csrf_token", csrf)}'
        f"{_hidden('code', code)}{_hidden('action', 'sign-out')}"
        "<button type=submit id=sign-out class=linkish>Not you? Sign out</button></form>",
    )


def enter_code_page(error: str = "") -> str:
    """Ask for the code when the page was opened without one."""
    problem = f"<p class=error id=message role=alert>{escape(error)}</p>" if error else ""
    return _page(
        "Enter your code",
        "<h1>Enter the code from your terminal</h1>"
        f"{problem}"
        '<form method=get action="/auth/cli/authorize">'
        "<label for=code-input>Code</label>"
        '<input type=text id=code-input name=code placeholder="ABCD-EFGH" autocomplete=off '
        "required>"
        "<button type=submit id=continue>Continue</button></form>"
        "<p class=muted>Run <code>tm auth login</code> to get a code.</p>",
    )


def message_page(title: str, message: str) -> str:
    """A final page: approved, denied, expired, ..."""
    return _page(title, f"<h1>{escape(title)}</h1><p id=message>{escape(message)}</p>")
