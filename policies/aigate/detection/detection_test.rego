package aigate.detection_test

import rego.v1

import data.aigate.detection

_pr := {"labels": [], "author": {"login": "alice", "type": "User"}, "head_branch": "feature/x", "body": ""}

_commit(message, trailers) := {
	"sha": "abc",
	"author": {"name": "Alice", "email": "alice@example.com"},
	"committer": {"name": "Alice", "email": "alice@example.com"},
	"message": message,
	"trailers": trailers,
}

test_human_pr_has_no_signals if {
	count(detection.signals) == 0 with input as {"pr": _pr, "commits": [_commit("fix", [])]}
	not detection.is_ai with input as {"pr": _pr, "commits": [_commit("fix", [])]}
}

test_label_matches_case_insensitively if {
	pr := object.union(_pr, {"labels": ["AI-Generated", "bug"]})
	detection.signals == {{"kind": "label", "value": "AI-Generated", "pattern": "ai-generated"}} with input as {
		"pr": pr, "commits": [],
	}
}

test_co_author_matches_by_email if {
	trailer := {"key": "Co-Authored-By", "value": "Claude Opus 4.5 <noreply@anthropic.com>"}
	inp := {"pr": _pr, "commits": [_commit("x", [trailer])]}
	detection.signals == {{
		"kind": "co_author",
		"value": "Claude Opus 4.5 <noreply@anthropic.com>",
		"pattern": "noreply@anthropic.com",
	}} with input as inp
}

test_co_author_other_trailer_keys_ignored if {
	trailer := {"key": "Reviewed-by", "value": "Claude <noreply@anthropic.com>"}
	count(detection.signals) == 0 with input as {"pr": _pr, "commits": [_commit("x", [trailer])]}
}

test_bot_author_login if {
	pr := object.union(_pr, {"author": {"login": "copilot-swe-agent[bot]", "type": "Bot"}})
	detection.signals == {{
		"kind": "bot_author",
		"value": "copilot-swe-agent[bot]",
		"pattern": "copilot-swe-agent[bot]",
	}} with input as {"pr": pr, "commits": []}
}

test_bot_author_aider_name_suffix if {
	commit := object.union(_commit("x", []), {"author": {"name": "Alice (aider)", "email": "a@example.com"}})
	detection.signals == {{"kind": "bot_author", "value": "Alice (aider)", "pattern": "* (aider)"}} with input as {
		"pr": _pr, "commits": [commit],
	}
}

test_bracket_is_literal if {
	# "[bot]" is text, not a character class: "claudeb" must not match "claude[bot]".
	pr := object.union(_pr, {"author": {"login": "claudeb", "type": "User"}})
	count(detection.signals) == 0 with input as {"pr": pr, "commits": []}
}

test_branch_prefix if {
	pr := object.union(_pr, {"head_branch": "Claude/fix-auth"})
	detection.signals == {{"kind": "branch", "value": "Claude/fix-auth", "pattern": "claude/"}} with input as {
		"pr": pr, "commits": [],
	}
}

test_branch_prefix_only_at_start if {
	pr := object.union(_pr, {"head_branch": "feature/claude/x"})
	count(detection.signals) == 0 with input as {"pr": pr, "commits": []}
}

test_message_marker_in_commit if {
	msg := "Fix login\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n"
	detection.signals == {{
		"kind": "message_marker",
		"value": "Generated with [Claude Code]",
		"pattern": "Generated with [Claude Code]",
	}} with input as {"pr": _pr, "commits": [_commit(msg, [])]}
}

test_message_marker_in_pr_body if {
	pr := object.union(_pr, {"body": "Summary\n\nmade with [cursor](https://cursor.com)"})
	detection.signals == {{
		"kind": "message_marker",
		"value": "made with [cursor](https://cursor.com)",
		"pattern": "Made with [Cursor](https://cursor.com)",
	}} with input as {"pr": pr, "commits": []}
}

test_checks_apply_to_human_when_configured if {
	inp := {"pr": _pr, "commits": []}
	not detection.checks_apply with input as inp
	detection.checks_apply with input as inp with data.aigate.config.apply_to_human as true
}

test_overridden_pattern_list_is_used_whole if {
	# The alternation follows the list a test gives, not the compiled defaults.
	pr := object.union(_pr, {"labels": ["Robot-Made"]})
	labels := [{"pattern": "robot-made", "regex": `(?is)^(?:robot\-made)$`}]
	signals := detection.signals with input as {"pr": pr, "commits": []}
		with data.aigate.config.detection.labels as labels
	signals == {{"kind": "label", "value": "Robot-Made", "pattern": "robot-made"}}
}
