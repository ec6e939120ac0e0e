# Is the PR AI-generated? Each matching signal says where it was found and which pattern matched.
package aigate.detection

import rego.v1

_patterns := data.aigate.lib.config.detection

# Each pattern list as one alternation: a value is tried pattern by pattern only when the list
# as a whole matches it, so the usual non-matching value costs one regex call instead of one per
# pattern. Built from the patterns themselves, so a test that overrides a list cannot see a
# stale alternation. (An empty list gives "", which matches; no pattern then follows.)
_any := {kind: concat("|", [concat("", ["(?:", p.regex, ")"]) | some p in patterns]) |
	some kind, patterns in _patterns
}

signals contains {"kind": "label", "value": label, "pattern": p.pattern} if {
	some label in input.pr.labels
	regex.match(_any.labels, label)
	some p in _patterns.labels
	regex.match(p.regex, label)
}

signals contains {"kind": "co_author", "value": value, "pattern": p.pattern} if {
	some value in _co_authors
	some identity in _identity_forms(value)
	regex.match(_any.co_authors, identity)
	some p in _patterns.co_authors
	regex.match(p.regex, identity)
}

signals contains {"kind": "bot_author", "value": identity, "pattern": p.pattern} if {
	some identity in _authors
	regex.match(_any.bot_authors, identity)
	some p in _patterns.bot_authors
	regex.match(p.regex, identity)
}

signals contains {"kind": "branch", "value": input.pr.head_branch, "pattern": p.pattern} if {
	regex.match(_any.branch_prefixes, input.pr.head_branch)
	some p in _patterns.branch_prefixes
	regex.match(p.regex, input.pr.head_branch)
}

signals contains {"kind": "message_marker", "value": marker, "pattern": p.pattern} if {
	some text in _messages
	regex.match(_any.message_markers, text)
	some p in _patterns.message_markers
	regex.match(p.regex, text) # cheaper than find_n, which is only run on a hit to read the marker
	some marker in regex.find_n(p.regex, text, 1)
}

is_ai := count(signals) > 0

# The AI checks run on AI PRs, and on every PR when the config says so.
checks_apply if is_ai

checks_apply if data.aigate.lib.config.apply_to_human

# Each distinct Co-authored-by value once, however many commits carry it.
_co_authors contains trailer.value if {
	some commit in input.commits
	some trailer in commit.trailers
	lower(trailer.key) == "co-authored-by"
}

# A trailer value "Name <email>" is matched whole and by its e-mail alone.
_identity_forms(value) := {value, _email(value)}

_email(value) := trim_suffix(trim_space(parts[count(parts) - 1]), ">") if {
	parts := split(value, "<")
	count(parts) > 1
} else := value

# Who wrote the PR and its commits: the PR author's login, commit author/committer names and e-mails.
_authors contains input.pr.author.login if input.pr.author.login != ""

_authors contains identity if {
	some commit in input.commits
	some person in [commit.author, commit.committer]
	some identity in [person.name, person.email]
	identity != ""
}

_messages contains commit.message if some commit in input.commits

_messages contains input.pr.body if input.pr.body != ""
