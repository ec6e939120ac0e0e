# Is the PR AI-generated? Every signal is checked at once: the PR's labels, author and branch; every
# commit's author, committer and trailers; markers in the commit messages and the PR title and body.
# Each matching signal says where it was found and which pattern matched.
#
# Text is compared normalised: NFKC (aigate supplies input.nfkc), zero-width characters removed,
# whitespace collapsed and trimmed; case is folded by the patterns' case-insensitive expressions.
package aigate.detection

import rego.v1

# Not data.aigate.lib.config: that is chosen per agent, and the agent is named from these signals.
_config := data.aigate.config.detection

# Agents' identities: one list, checked against every identity (PR author, commit author and
# committer, trailer values). The co_authors and bot_authors settings both feed it.
_identity_patterns := array.concat(_config.co_authors, _config.bot_authors)

# Each pattern list as one alternation, tried before the patterns one by one: the usual
# non-matching value costs one regex call. (An empty list gives "", which matches; no pattern follows.)
_any := {
	"identity": _alternation(_identity_patterns),
	"labels": _alternation(_config.labels),
	"branch_prefixes": _alternation(_config.branch_prefixes),
	"message_markers": _alternation(_config.message_markers),
	"automation": _alternation(_config.automation),
}

_alternation(patterns) := concat("|", [concat("", ["(?:", p.regex, ")"]) | some p in patterns])

# Zero-width space/non-joiner/joiner, word joiner, BOM, soft hyphen, Mongolian vowel separator
# (aigate/_text.py ZERO_WIDTH). Whitespace is spelled out: RE2's \s is ASCII-only, Rust's is not.
_zero_width := `[\x{200B}\x{200C}\x{200D}\x{2060}\x{FEFF}\x{00AD}\x{180E}]`

_whitespace := `[\t\n\v\f\r \x{0085}\x{00A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+`

_nfkc := object.get(input, "nfkc", {})

normalise(text) := trim_space(regex.replace(
	regex.replace(object.get(_nfkc, text, text), _zero_width, ""),
	_whitespace, " ",
))

# --- identities ---------------------------------------------------------------------------------

# Every identity, with the normalised forms it is matched by. `kind` is the signal kind it gives:
# bot_author for the PR author and commit authors/committers, co_author for trailer values.
_identities contains {"kind": "bot_author", "value": login, "forms": {normalise(login)}} if {
	login := input.pr.author.login
	normalise(login) != ""
}

# Each distinct person and trailer value once, however many commits carry it (most PRs have one
# author): the forms are computed per identity, not per commit.
_people := {person | some commit in input.commits; some person in [commit.author, commit.committer]}

_trailer_values := {trailer.value | some commit in input.commits; some trailer in commit.trailers}

_identities contains {"kind": "bot_author", "value": value, "forms": forms} if {
	some person in _people
	name := normalise(person.name)
	email := normalise(person.email)
	value := _person_text(person)
	value != ""
	whole := concat("", [name, " <", email, ">"])
	forms := {form | some form in array.concat([name, email, whole], _noreply_login(email)); form != ""}
}

# Any trailer whose value names someone: Co-authored-by, Signed-off-by, Reviewed-by, …
_identities contains {"kind": "co_author", "value": value, "forms": _trailer_forms(value)} if {
	some value in _trailer_values
	normalise(value) != ""
}

_person_text(person) := concat("", [person.name, " <", person.email, ">"]) if {
	person.email != ""
} else := person.name

# "Name <email>" is matched whole, by its e-mail alone and by its name alone; spaces inside the
# brackets ("< noreply@anthropic.com >") do not count.
_trailer_forms(value) := {form |
	some form in array.concat([whole, email, name], _noreply_login(email))
	form != ""
} if {
	whole := normalise(value)
	parts := split(whole, "<")
	count(parts) > 1
	email := trim_space(trim_suffix(trim_space(parts[count(parts) - 1]), ">"))
	name := trim_space(concat("<", array.slice(parts, 0, count(parts) - 1)))
} else := {normalise(value)}

# GitHub's noreply address names the account whatever its numeric id: "ID+LOGIN@users.noreply.github.com"
# (or "LOGIN@…") is also matched as LOGIN, so "223556219+Copilot@…" is Copilot.
_noreply_login(email) := [login] if {
	endswith(lower(email), "@users.noreply.github.com")
	local := split(email, "@")[0]
	pieces := split(local, "+")
	login := pieces[count(pieces) - 1]
} else := []

# Known automation that is not AI (Dependabot, Renovate, …): matched only by a pattern with no
# wildcard, that is when the user names it; `*[bot]@*` does not turn Dependabot into an agent.
_is_automation(identity) if {
	some form in identity.forms
	regex.match(_any.automation, form)
	some p in _config.automation
	regex.match(p.regex, form)
}

_agent_patterns(identity) := [p | some p in _identity_patterns; p.literal] if {
	_is_automation(identity)
} else := _identity_patterns

signals contains {"kind": identity.kind, "value": identity.value, "pattern": p.pattern} if {
	some identity in _identities
	some form in identity.forms
	regex.match(_any.identity, form)
	some p in _agent_patterns(identity)
	regex.match(p.regex, form)
}

# --- unknown bots ---------------------------------------------------------------------------------

# A bot account on no list (neither an agent nor known automation) sends the PR through the checks:
# an agent that is not on the list yet looks exactly like this.
signals contains {"kind": "unknown_bot", "value": identity.value, "pattern": reason} if {
	_config.unknown_bots
	some identity in _identities
	identity.kind == "bot_author"
	reason := _bot_reason(identity)
	not _known_identity(identity)
}

# The PR author's account type says Bot; or a GitHub App's commit identity: "name[bot]" or
# "id+name[bot]@users.noreply.github.com".
_bot_reason(identity) := "account type Bot" if {
	identity.value == input.pr.author.login
	lower(normalise(input.pr.author.type)) == "bot"
} else := "[bot] account" if {
	some form in identity.forms
	regex.match(`(?i)\[bot\](?:$|@users\.noreply\.github\.com$| <)`, form)
}

_known_identity(identity) if _is_automation(identity)

_known_identity(identity) if {
	some form in identity.forms
	some p in _identity_patterns
	regex.match(p.regex, form)
}

# --- labels, branch, markers ------------------------------------------------------------------------

signals contains {"kind": "label", "value": label, "pattern": p.pattern} if {
	some label in input.pr.labels
	text := normalise(label)
	regex.match(_any.labels, text)
	some p in _config.labels
	regex.match(p.regex, text)
}

# The head branch, without a leading refs/heads/ (as a host may give it).
_branch := regex.replace(normalise(input.pr.head_branch), `^(?i:refs/heads/)`, "")

signals contains {"kind": "branch", "value": input.pr.head_branch, "pattern": p.pattern} if {
	_branch != ""
	regex.match(_any.branch_prefixes, _branch)
	some p in _config.branch_prefixes
	regex.match(p.regex, _branch)
}

signals contains {"kind": "message_marker", "value": marker, "pattern": p.pattern} if {
	some text in _texts
	regex.match(_any.message_markers, text)
	some p in _config.message_markers
	regex.match(p.regex, text) # cheaper than find_n, which is only run on a hit to read the marker
	some marker in regex.find_n(p.regex, text, 1)
}

# Commit messages and the PR's title and body, normalised: a marker split over two lines or with
# doubled spaces reads as written.
_texts contains normalise(message) if some message in {commit.message | some commit in input.commits}

_texts contains normalise(input.pr.title) if normalise(input.pr.title) != ""

_texts contains normalise(input.pr.body) if normalise(input.pr.body) != ""

# --- the verdict ------------------------------------------------------------------------------------

default is_ai := false

is_ai if count(signals) > 0

# The AI checks run on AI PRs, and on every PR when the config says so.
checks_apply if is_ai

checks_apply if data.aigate.lib.config.apply_to_human

# A custom rule's signal (data.aigate.custom.<name>.signals) marks the PR as AI too.
checks_apply if count(data.aigate.extensions.signals) > 0

# Which signal kinds had input to look at. A kind without input (no branch name, no commits, no PR
# metadata) "could not be checked": the decision says so instead of reporting silence as human.
default _has_commits := false

_has_commits if count(input.commits) > 0

default _has_pr := false

_has_pr if {
	some key in ["title", "body", "url"]
	object.get(input.pr, key, "") != ""
}

_has_pr if object.get(input.pr, ["author", "login"], "") != ""

_has_pr if count(input.pr.labels) > 0

_has_pr if input.pr.number != null

default _has_identities := false

_has_identities if count(_identities) > 0

default _has_texts := false

_has_texts if count(_texts) > 0

_kind_has_input := {
	"label": _has_pr,
	"co_author": _has_commits,
	"bot_author": _has_identities,
	"branch": _branch != "",
	"message_marker": _has_texts,
	"unknown_bot": _has_identities,
}

# A kind switched off by the config (unknown_bots: false) is neither checked nor missing.
_enabled(kind) if kind != "unknown_bot"

_enabled("unknown_bot") if _config.unknown_bots

checked := {kind | some kind, present in _kind_has_input; present; _enabled(kind)}

unchecked := {kind | some kind, present in _kind_has_input; not present; _enabled(kind)}

matched := {signal.kind | some signal in signals}
