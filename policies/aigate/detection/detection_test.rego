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

test_identity_in_any_trailer_key if {
	# One identity, checked everywhere: an agent's address in any trailer is the agent.
	trailer := {"key": "Reviewed-by", "value": "Claude <noreply@anthropic.com>"}
	detection.signals == {{
		"kind": "co_author",
		"value": "Claude <noreply@anthropic.com>",
		"pattern": "noreply@anthropic.com",
	}} with input as {"pr": _pr, "commits": [_commit("x", [trailer])]}
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
	expected := {"kind": "bot_author", "value": "Alice (aider) <a@example.com>", "pattern": "* (aider)"}
	detection.signals == {expected} with input as {"pr": _pr, "commits": [commit]}
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

_kinds(signals) := {s.kind | some s in signals}

test_commit_author_identity_is_an_agent if {
	commit := object.union(_commit("x", []), {"author": {"name": "Claude", "email": "noreply@anthropic.com"}})
	detection.signals == {{
		"kind": "bot_author",
		"value": "Claude <noreply@anthropic.com>",
		"pattern": "noreply@anthropic.com",
	}} with input as {"pr": _pr, "commits": [commit]}
}

test_committer_identity_is_an_agent if {
	commit := object.union(_commit("x", []), {"committer": {"name": "Paul (aider)", "email": "p@example.com"}})
	_kinds(detection.signals) == {"bot_author"} with input as {"pr": _pr, "commits": [commit]}
}

test_copilot_matched_by_noreply_login_whatever_the_id if {
	trailer := {"key": "Co-authored-by", "value": "Copilot Autofix <223556219+Copilot@users.noreply.github.com>"}
	signals := detection.signals with input as {"pr": _pr, "commits": [_commit("x", [trailer])]}
	{s.pattern | some s in signals} == {"Copilot"}
}

test_spaces_inside_the_brackets if {
	trailer := {"key": "Co-authored-by", "value": "Claude < noreply@anthropic.com >"}
	_kinds(detection.signals) == {"co_author"} with input as {"pr": _pr, "commits": [_commit("x", [trailer])]}
}

test_label_with_trailing_space_or_zero_width_joiner if {
	every label in ["ai-generated ", "ai-\u200dgenerated", "\u200bAI-Generated\u200d", "ai-generated\t"] {
		_kinds(detection.signals) == {"label"} with input as {"pr": object.union(_pr, {"labels": [label]}), "commits": []}
	}
}

test_fullwidth_label_through_nfkc if {
	# aigate supplies input.nfkc: the NFKC form of each text that NFKC changes.
	label := "ａｉ-ｇｅｎｅｒａｔｅｄ"
	inp := {"pr": object.union(_pr, {"labels": [label]}), "commits": [], "nfkc": {label: "ai-generated"}}
	_kinds(detection.signals) == {"label"} with input as inp
}

test_branch_with_refs_heads_or_leading_space if {
	every branch in ["refs/heads/claude/x", " claude/x", "\u200bclaude/x", "REFS/HEADS/Claude/x"] {
		pr := object.union(_pr, {"head_branch": branch})
		_kinds(detection.signals) == {"branch"} with input as {"pr": pr, "commits": []}
	}
}

test_marker_with_doubled_spaces_or_split_across_lines if {
	every msg in [
		"Fix\n\nGenerated  with [Claude Code](https://claude.com/claude-code)",
		"Fix\n\nGenerated with\n[Claude Code](https://claude.com/claude-code)",
		"Fix\n\nGenerated\u200b with [Claude\u00a0Code]",
	] {
		_kinds(detection.signals) == {"message_marker"} with input as {"pr": _pr, "commits": [_commit(msg, [])]}
	}
}

test_marker_in_the_pr_title_only if {
	pr := object.union(_pr, {"title": "Fix login (Generated with [Claude Code])"})
	_kinds(detection.signals) == {"message_marker"} with input as {"pr": pr, "commits": []}
}

test_unknown_bot_account_is_a_signal if {
	pr := object.union(_pr, {"author": {"login": "some-agent", "type": "Bot"}})
	detection.signals == {{"kind": "unknown_bot", "value": "some-agent", "pattern": "account type Bot"}} with input as {
		"pr": pr, "commits": [],
	}
	detection.is_ai with input as {"pr": pr, "commits": []}
	count(detection.signals) == 0 with input as {"pr": pr, "commits": []}
		with data.aigate.config.detection.unknown_bots as false
}

test_unknown_github_app_commit_is_a_signal if {
	person := {"name": "acme-helper[bot]", "email": "1+acme-helper[bot]@users.noreply.github.com"}
	commit := object.union(_commit("x", []), {"author": person})
	_kinds(detection.signals) == {"unknown_bot"} with input as {"pr": _pr, "commits": [commit]}
}

test_known_automation_is_not_ai if {
	dependabot := {"name": "dependabot[bot]", "email": "49699333+dependabot[bot]@users.noreply.github.com"}
	trailer := "Co-authored-by: dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"
	commit := object.union(_commit(concat("\n\n", ["Bump x", trailer]), []), {"author": dependabot})
	pr := object.union(_pr, {"author": {"login": "dependabot[bot]", "type": "Bot"}})
	count(detection.signals) == 0 with input as {"pr": pr, "commits": [commit]}
}

test_wildcard_never_catches_automation_but_a_name_does if {
	pr := object.union(_pr, {"author": {"login": "dependabot[bot]", "type": "Bot"}})
	wildcard := [{"pattern": "*[bot]", "regex": `(?is)^(?:.*\[bot\])$`, "literal": false}]
	count(detection.signals) == 0 with input as {"pr": pr, "commits": []}
		with data.aigate.config.detection.bot_authors as wildcard
	named := [{"pattern": "dependabot[bot]", "regex": `(?is)^(?:dependabot\[bot\])$`, "literal": true}]
	_kinds(detection.signals) == {"bot_author"} with input as {"pr": pr, "commits": []}
		with data.aigate.config.detection.bot_authors as named
}

test_kinds_checked_and_unchecked if {
	# No commits and no branch: those kinds could not be checked, and the decision says so.
	pr := object.union(_pr, {"head_branch": "", "labels": ["ai-generated"]})
	detection.checked == {"label", "bot_author", "unknown_bot"} with input as {"pr": pr, "commits": []}
	detection.unchecked == {"co_author", "branch", "message_marker"} with input as {"pr": pr, "commits": []}
	detection.matched == {"label"} with input as {"pr": pr, "commits": []}
}

test_every_kind_checked_with_full_input if {
	detection.checked == {"label", "co_author", "bot_author", "branch", "message_marker", "unknown_bot"} with input as {
		"pr": object.union(_pr, {"title": "Fix"}), "commits": [_commit("fix", [])],
	}
	detection.unchecked == set() with input as {"pr": object.union(_pr, {"title": "Fix"}), "commits": [_commit("fix", [])]}
}
