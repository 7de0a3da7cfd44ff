"""Secrets and personal data.

(a) No file of the repository (every file `git ls-files` lists, plus new files git does
not ignore) holds anything that looks like a key or a token: private key blocks,
service-account JSON keys, AWS, GitHub, Slack, Google and Stripe keys, passwords in URLs,
and secret-named settings assigned a literal. The detector is shown to catch a planted
sample of each kind (built here by concatenation, so this file holds none) and to pass the
harmless forms the project uses; the few known placeholders are allowlisted by file and
value, and every allowlisted hit must still exist.

(b) Emails and person or company names never leave staging: on a small build, no column of
a model outside `staging` (and the seeds) is named like personal data, and no value of any
string column of those models is an email or contains an email or name of the raw
identifies, Stripe customers or CRM accounts. The same scan finds them in staging, so it
can fail; and the marts keep the ids that reach them there.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import STANDARD_START, environ, standard_build, without_yaml_tests

ROOT = Path(__file__).resolve().parent.parent

# --- (a) secrets --------------------------------------------------------------------------

_BEGIN = "-----" + "BEGIN"  # split so the pattern's own source is not a key header
SECRET_RULES: dict[str, re.Pattern] = {
    "private key block": re.compile(_BEGIN + r" (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "service-account private key": re.compile(r'"private_key(?:_id)?"\s*:\s*"([^"]+)"'),
    "AWS access key id": re.compile(r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b"),
    "AWS secret access key": re.compile(r"(?i)aws_secret_access_key\W{1,4}([A-Za-z0-9/+=]{40})\b"),
    "GitHub token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    "Slack token": re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]{10,})"),
    "Slack webhook": re.compile(r"(https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,})"),
    "Google API key": re.compile(r"\b(AIza[0-9A-Za-z_-]{35})"),
    "Stripe secret key": re.compile(r"\b((?:sk|rk)_live_[0-9A-Za-z]{16,})"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^@\s/'\"$<{][^@\s/'\"]*)@"),
    # password = "...", "api_key": '...', token: "..." (a quoted literal of 8+ characters)
    "secret-named literal": re.compile(
        r"(?i)[\w.-]*(?:password|passwd|secret|token|api_?key|access_?key|private_?key)[\w.-]*[\"']?"
        r"\s*[:=]\s*[\"']([^\"'\s]{8,})[\"']"
    ),
    # SOME_PASSWORD=value in env files and shell lines (unquoted, not a $reference)
    "secret-named env assignment": re.compile(
        r"(?m)^\s*(?:export\s+)?[A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY)[A-Z0-9_]*"
        r"=([^\s\"'$`{][^\s]{5,})"
    ),
    # password: value in YAML (unquoted, not a {{ template }}, ${{ expression }} or <placeholder>)
    "secret-named YAML value": re.compile(
        r"(?im)^\s*[\w-]*(?:password|passwd|secret|token|api_?key)[\w-]*\s*:\s*(?![\"'${<>|\[])([^\s#]{8,})\s*(?:#.*)?$"
    ),
    # {{ env_var('SOME_TOKEN', <a literal>) }}: a secret's fallback written into the config
    "secret env var with a default": re.compile(
        r"env_var\(\s*[\"'][A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|KEY|CREDENTIALS)[A-Z0-9_]*[\"']\s*,\s*[\"']([^\"']+)[\"']"
    ),
}
# Files that are keys by their name alone, whatever is in them.
KEY_FILE_NAMES = re.compile(
    r"(^|/)(id_(rsa|dsa|ecdsa|ed25519)|[^/]*\.(pem|p12|pfx|key|keystore|jks)|\.env(\.[^/]*)?|"
    r"[^/]*service[-_]?account[^/]*\.json|credentials\.json)$"
)

# Known harmless placeholders: (file, value) -> why it is harmless. Each must still be found.
ALLOWLIST: dict[tuple[str, str], str] = {
    ("config.yaml", "unset"): "the dummy token of the inert oauth-secrets default (README: Environment variables)",
    ("README.md", "change-me"): "the placeholder password of the example environment file",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    value: str


def scan_text(text: str, path: str = "<text>") -> list[Finding]:
    findings = []
    for rule, pattern in SECRET_RULES.items():
        for match in pattern.finditer(text):
            value = match.group(1) if pattern.groups else match.group(0)
            findings.append(Finding(path, text.count("\n", 0, match.start()) + 1, rule, value))
    return findings


def repository_files(root: Path) -> list[str]:
    """Files git tracks, and new files it does not ignore (so a secret is caught before its commit)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, check=True,
    ).stdout.decode()
    return sorted({p for p in listed.split("\0") if p})


def scan_repository(root: Path) -> list[Finding]:
    findings = []
    for path in repository_files(root):
        if KEY_FILE_NAMES.search(path):
            findings.append(Finding(path, 0, "key file name", path))
        file = root / path
        if not file.is_file():  # deleted in the working tree, still in the index
            continue
        data = file.read_bytes()
        if b"\0" in data[:8192]:  # binary (docs/*.png)
            continue
        findings.extend(scan_text(data.decode("utf-8", errors="replace"), path))
    return findings


@pytest.fixture(scope="module")
def repository_findings() -> list[Finding]:
    return scan_repository(ROOT)


def test_the_scan_reads_the_repository(repository_findings):
    files = repository_files(ROOT)
    assert {"config.yaml", "README.md", "tests/test_secrets_pii.py", ".github/workflows/pr.yml"} <= set(files)
    assert not any(f.startswith((".venv/", "data/growthmesh")) for f in files)


def test_no_file_holds_a_key_or_token(repository_findings):
    unexpected = [f for f in repository_findings if (f.path, f.value) not in ALLOWLIST]
    assert unexpected == [], "\n".join(f"{f.path}:{f.line}: {f.rule}: {f.value[:12]}..." for f in unexpected)


def test_every_allowlisted_placeholder_is_still_there(repository_findings):
    found = {(f.path, f.value) for f in repository_findings}
    assert set(ALLOWLIST) - found == set(), "remove allowlist entries that no longer match"


# Planted samples, assembled at run time: none of them is a literal in this file.
PLANTED = {
    "private key block": _BEGIN + " RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + "x" * 40,
    "service-account private key": '{"type": "service_account", "private_' + 'key_id": "' + "0f" * 20 + '"}',
    "AWS access key id": "aws_access_key_id = " + "AK" + "IA" + "Q3EGRIXZ7VK2MB4T",
    "AWS secret access key": "aws_secret_access_key=" + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "Q3EGRIXZ7V",
    "GitHub token": "GITHUB_TOKEN: " + "gh" + "p_" + "1A2b3C4d5E" * 4,
    "Slack token": "slack: " + "xo" + "xb-" + "2048111111-4096222222-" + "AbCdEfGhIjKlMnOpQrStUvWx",
    "Slack webhook": "url: https://hooks.slack" + ".com/services/" + "T0000/B0000/" + "Xy" * 12,
    "Google API key": "key=" + "AI" + "za" + "SyD-" + "9tSrke72PouQMnMX" + "7a7eZSW0jkFMBWY",
    "Stripe secret key": "STRIPE_KEY=" + "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "password in a URL": "dsn: postgresql://sqlmesh:" + "Tr0ub4dor-3" + "@state-db.internal:5432/state",
    "secret-named literal": "password = " + '"' + "hunter2hunter2" + '"',
    "secret-named env assignment": "GROWTHMESH_STATE_PG_" + "PASSWORD=" + "s3cr3t-pa55",
    "secret-named YAML value": "      pass" + "word: " + "correct-horse-battery",
    "secret env var with a default": "token: {{ env_var('GROWTHMESH_BQ_TOKEN', '" + "ya29.a0AfH6SM" + "') }}",
}
HARMLESS = [
    "token: {{ env_var('GROWTHMESH_BQ_TOKEN', '') }}",
    "password: {{ env_var('GROWTHMESH_STATE_PG_PASSWORD', '') | tojson }}  # quoted: any characters, or empty",
    "      GROWTHMESH_STATE_PG_PASSWORD: ${{ secrets.GROWTHMESH_STATE_PG_PASSWORD }}",
    'password = os.environ["GROWTHMESH_STATE_PG_PASSWORD"]',
    "credentials = Credentials(token=env.get('GROWTHMESH_BQ_TOKEN', '').strip())",
    'SECRET_ENV = {"GROWTHMESH_STATE_PG_PASSWORD", "GROWTHMESH_BQ_TOKEN"}',
    "GROWTHMESH_STATE_PG_PASSWORD=...",
    "GROWTHMESH_STATE_PG_PASSWORD=$(cat /run/secrets/pg)",
    "keyfile: {{ env_var('GOOGLE_APPLICATION_CREDENTIALS', '') }}",
    "postgresql://sqlmesh@state-db.internal:5432/state",
    "| `GCP_SA_KEY` | the service account's JSON key |",
    "tokens = tokenizer.tokenize(sql)",
]


@pytest.mark.parametrize("rule", sorted(PLANTED))
def test_the_detector_catches_a_planted_sample(rule):
    assert rule in {f.rule for f in scan_text(PLANTED[rule])}


@pytest.mark.parametrize("token", ["gh" + "o_" + "z9" * 18, "github_" + "pat_" + "11ABCDEFG0" + "_" + "q7" * 30])
def test_the_detector_catches_other_github_token_shapes(token):
    assert [f.value for f in scan_text(f"auth {token}\n")] == [token]


@pytest.mark.parametrize("line", HARMLESS)
def test_the_detector_passes_harmless_lines(line):
    assert scan_text(line) == []


def test_the_repository_scan_sees_tracked_and_new_files_but_not_ignored_ones(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("ignored.txt\n")
    secret = "password = " + '"' + "n0t-a-real-one-42" + '"'
    for name in ("tracked.py", "new.py", "ignored.txt"):
        (tmp_path / name).write_text(f"# {name}\n{secret}\n")
    (tmp_path / "deploy.pem").write_text("not even a key\n")
    subprocess.run(["git", "add", "tracked.py", ".gitignore"], cwd=tmp_path, check=True)
    findings = scan_repository(tmp_path)
    assert {(f.path, f.line, f.rule) for f in findings} == {
        ("tracked.py", 2, "secret-named literal"),
        ("new.py", 2, "secret-named literal"),
        ("deploy.pem", 0, "key file name"),
    }


# --- (b) personal data ----------------------------------------------------------------------

PERSONAL_COLUMN = re.compile(
    r"(^|_)(e_?mail|phone|mobile|fax|ip|ipv[46]|ip_addr(ess)?|address|street|postcode|postal|zip|zip_code|"
    r"ssn|birth_?date|dob|user_agent)(_|$)"
    r"|^(name|(.+_)?(customer|account|company|contact|person|user|owner|full|first|last|display|billing|legal)_name)$"
)
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"


@pytest.mark.parametrize("column", ["email", "email_normalized", "customer_email", "customer_name", "crm_account_name",
                                    "company_name", "name", "phone_number", "ip", "ip_address", "billing_address",
                                    "user_agent", "first_name"])
def test_personal_column_names_are_recognised(column):
    assert PERSONAL_COLUMN.search(column)


@pytest.mark.parametrize("column", ["event_name", "utm_campaign", "product_name", "stage_name", "campaign_name",
                                    "customer_id", "crm_account_id", "anonymous_id", "city", "country", "is_paid",
                                    "ship_date", "feature", "channel"])
def test_other_column_names_are_not(column):
    assert not PERSONAL_COLUMN.search(column)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A prod build of every model over 300 generated users, Jan-Feb 2025, 2% dirty rows
    (test-mode customers with their own emails among them)."""
    from sqlmesh import Context

    db, _ = standard_build(tmp_path_factory, tmp_path_factory.mktemp("pii"))  # conftest: built once per run
    with environ(GROWTHMESH_DUCKDB=str(db), GROWTHMESH_START=STANDARD_START), without_yaml_tests():
        context = Context(paths=ROOT)
        try:
            models = {
                m.name: (m.name.split(".")[0], dict(m.columns_to_types or {}))
                for m in context.models.values() if not m.kind.is_external
            }
        finally:
            context.close()
    con = duckdb.connect(str(db))
    # every email and name staging received, as a lower-case, trimmed string
    con.execute(
        """
        CREATE TEMP TABLE personal AS
        SELECT DISTINCT LOWER(TRIM(v)) AS pv, kind FROM (
          SELECT email AS v, 'email' AS kind FROM raw_segment.identifies
          UNION ALL SELECT name, 'name' FROM raw_segment.identifies
          UNION ALL SELECT company_name, 'name' FROM raw_segment.identifies
          UNION ALL SELECT email, 'email' FROM raw_stripe.customer
          UNION ALL SELECT name, 'name' FROM raw_stripe.customer
          UNION ALL SELECT name, 'name' FROM raw_crm.account
        ) WHERE LENGTH(TRIM(v)) >= 4
        """
    )
    yield con, models
    con.close()


def _outside_staging(models) -> list[str]:
    return sorted(name for name, (schema, _) in models.items() if schema not in ("staging", "seeds"))


def _personal_values(con, model: str) -> list[tuple]:
    """(column, value, what it matches) for string values of `model` that are an email,
    or contain an email or a name staging received: up to 3 per column."""
    columns = [
        (c, t) for c, t, *_ in con.execute(f"DESCRIBE {model}").fetchall() if "VARCHAR" in t or "JSON" in t
    ]
    if not columns:
        return []
    values = " UNION ".join(f"SELECT '{c}' AS col, CAST(\"{c}\" AS VARCHAR) AS v FROM {model}" for c, _ in columns)
    return con.execute(
        f"""
        WITH vals AS (
          SELECT DISTINCT col, v FROM ({values}) WHERE v IS NOT NULL
        ), hits AS (
          SELECT col, v, 'an email' AS what FROM vals WHERE regexp_matches(v, '{EMAIL}')
          UNION ALL
          SELECT col, v, p.kind || ' ' || p.pv FROM vals JOIN personal AS p ON contains(LOWER(vals.v), p.pv)
        )
        SELECT col, v, what FROM hits
        QUALIFY ROW_NUMBER() OVER (PARTITION BY col ORDER BY v, what) <= 3  -- a few examples per column
        ORDER BY 1, 2, 3
        """
    ).fetchall()


def test_the_data_has_emails_and_names_to_leak(built):
    con, _ = built
    kinds = dict(con.execute("SELECT kind, COUNT(*) FROM personal GROUP BY 1").fetchall())
    assert kinds.get("email", 0) >= 100 and kinds.get("name", 0) >= 100, kinds
    (test_mode,) = con.execute("SELECT COUNT(*) FROM raw_stripe.customer WHERE NOT livemode").fetchone()
    assert test_mode > 0


def test_no_model_outside_staging_has_a_personal_data_column(built):
    con, models = built
    outside = _outside_staging(models)
    assert {models[m][0] for m in outside} == {"product", "acquisition", "revenue", "customers", "sales", "intermediate"}
    declared = {(m, c) for m in outside for c in models[m][1] if PERSONAL_COLUMN.search(c)}
    built_columns = {
        (m, c) for m in outside for c, *_ in con.execute(f"DESCRIBE {m}").fetchall() if PERSONAL_COLUMN.search(c)
    }
    assert declared | built_columns == set()


def test_staging_has_personal_data_columns_so_the_check_can_fail(built):
    _, models = built
    flagged = {(m, c) for m, (schema, cols) in models.items() if schema == "staging" for c in cols
               if PERSONAL_COLUMN.search(c)}
    assert {("staging.stg_stripe__customer", "email"), ("staging.stg_stripe__customer", "customer_name"),
            ("staging.stg_crm__account", "account_name"), ("staging.stg_segment__identifies", "email")} <= flagged


def test_no_value_outside_staging_is_an_email_or_a_name(built):
    con, models = built
    leaks = {m: found for m in _outside_staging(models) if (found := _personal_values(con, m))}
    assert leaks == {}


@pytest.mark.parametrize("model,column", [("staging.stg_stripe__customer", "email"),
                                          ("staging.stg_stripe__customer", "customer_name"),
                                          ("staging.stg_crm__account", "account_name"),
                                          ("staging.stg_segment__identifies", "company_name")])
def test_the_value_scan_finds_personal_data_in_staging(built, model, column):
    con, _ = built
    assert column in {c for c, _, _ in _personal_values(con, model)}


def test_marts_keep_the_ids_that_reach_names_in_staging(built):
    con, _ = built
    (customers, unmatched, accounts, unmatched_accounts) = con.execute(
        """
        SELECT COUNT(*),
               COUNT(*) FILTER (WHERE s.customer_id IS NULL),
               COUNT(d.crm_account_id),
               COUNT(d.crm_account_id) FILTER (WHERE a.account_id IS NULL)
        FROM customers.dim_customers AS d
        LEFT JOIN staging.stg_stripe__customer AS s ON s.customer_id = d.customer_id
        LEFT JOIN staging.stg_crm__account AS a ON a.account_id = d.crm_account_id
        """
    ).fetchone()
    assert customers > 0 and accounts > 0
    assert (unmatched, unmatched_accounts) == (0, 0)
