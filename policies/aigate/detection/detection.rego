# Is the PR AI-generated? Each matching signal says where it was found and which pattern matched.
package aigate.detection

import rego.v1

import data.aigate.lib

_patterns := lib.config.detection

signals contains {"kind": "label", "value": label, "pattern": p.pattern} if {
	some label in input.pr.labels
	some p in _patterns.labels
	regex.match(p.regex, label)
}

signals contains {"kind": "co_author", "value": trailer.value, "pattern": p.pattern} if {
	some commit in input.commits
	some trailer in commit.trailers
	lower(trailer.key) == "co-authored-by"
	some identity in _identity_forms(trailer.value)
	some p in _patterns.co_authors
	regex.match(p.regex, identity)
}

signals contains {"kind": "bot_author", "value": identity, "pattern": p.pattern} if {
	some identity in _authors
	some p in _patterns.bot_authors
	regex.match(p.regex, identity)
}

signals contains {"kind": "branch", "value": input.pr.head_branch, "pattern": p.pattern} if {
	some p in _patterns.branch_prefixes
	regex.match(p.regex, input.pr.head_branch)
}

signals contains {"kind": "message_marker", "value": marker, "pattern": p.pattern} if {
	some text in _messages
	some p in _patterns.message_markers
	some marker in regex.find_n(p.regex, text, 1)
}

is_ai := count(signals) > 0

# The AI checks run on AI PRs, and on every PR when the config says so.
checks_apply if is_ai

checks_apply if lib.config.apply_to_human

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
