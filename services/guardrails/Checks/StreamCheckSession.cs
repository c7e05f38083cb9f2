using System.Text;
using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Guardrails.Pii;
using Gateway.Aspire.Guardrails.Rules;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>
/// The output checks of one streamed answer, fed delta by delta per choice. Whole-text checks
/// (deny_list, moderation, prompt_injection) run on a sliding window of the last
/// <see cref="WindowChars"/> characters, so a pattern split across deltas is still seen, and they run
/// before the delta is released, so the delta that completes a blocked phrase is never emitted. pii
/// checks run through <see cref="StreamingPiiFilter"/>s, which hold back only what a match in
/// progress needs.
/// </summary>
internal sealed class StreamCheckSession
{
    /// <summary>How much of a choice's recent text the whole-text checks see: a deny pattern or moderation cue longer than this is not caught across deltas.</summary>
    public const int WindowChars = 2048;

    private readonly GuardrailEvaluator _evaluator;
    private readonly IReadOnlyList<(GuardrailRule Rule, GuardrailCheck Check)> _windowChecks;
    private readonly IReadOnlyList<(GuardrailRule Rule, GuardrailCheck Check)> _piiChecks;
    private readonly IReadOnlyDictionary<string, string> _placeholders;
    private readonly PiiMaskSession _session;
    private readonly bool _restore;
    private readonly string _requestId;
    private readonly Dictionary<int, Choice> _choices = [];

    /// <summary>Starts a session for the output checks of <paramref name="rules"/>; <paramref name="placeholders"/> are CheckInput's, for restore.</summary>
    public StreamCheckSession(GuardrailEvaluator evaluator, IReadOnlyList<GuardrailRule> rules, IReadOnlyDictionary<string, string> placeholders, string requestId)
    {
        _evaluator = evaluator;
        var checks = rules.SelectMany(rule => rule.Output.Select(check => (rule, check))).ToList();
        _windowChecks = [.. checks.Where(c => c.check.Kind != CheckKind.Pii)];
        _piiChecks = [.. checks.Where(c => c.check.Kind == CheckKind.Pii)];
        _placeholders = placeholders;
        _session = PiiMaskSession.FromPlaceholders(placeholders);
        _restore = _piiChecks.Any(c => c.Check.Restore);
        _requestId = requestId;
    }

    /// <summary>Checks one delta; the reply says what may be emitted, or blocks. Throws <see cref="GuardrailFailedException"/> for a fail-closed check that failed.</summary>
    public StreamVerdict Push(TextDelta delta, CancellationToken cancellationToken)
    {
        if (!_choices.TryGetValue(delta.Index, out var choice))
        {
            // Masking and restoring are separate steps with separate sessions, as in CheckOutput: new
            // values get placeholders that stay; only the request's own placeholders are restored.
            choice = new Choice(
                [.. _piiChecks.Select(c => _evaluator.Pii.StreamFilter(c.Check, _session))],
                _restore ? new StreamingRestorer(PiiMaskSession.FromPlaceholders(_placeholders)) : null);
            _choices[delta.Index] = choice;
        }

        var verdict = new StreamVerdict { Index = delta.Index, Verdict = Verdict.Allow, Done = delta.Done };
        if (choice.Done)
        {
            verdict.Done = true;
            return verdict; // nothing follows a finished choice; late text is dropped rather than emitted unchecked
        }

        var findings = new FindingsBuilder();
        var text = "";
        var block = CheckWindow(choice, delta.Text, findings, cancellationToken)
            ?? Filter(choice, delta.Text, flush: delta.Done, findings, out text);
        findings.MoveTo(verdict.Findings);
        if (block is not null)
        {
            verdict.Verdict = Verdict.Block;
            verdict.Guardrail = block.Guardrail;
            verdict.Category = block.Category;
            verdict.Message = "The answer was stopped by the gateway's content policy.";
            verdict.Done = true;
            return verdict;
        }

        verdict.Text = text;
        choice.Done = delta.Done;
        return verdict;
    }

    /// <summary>
    /// Checks the deltas of one batch together: per choice, its texts are joined and checked as one
    /// delta (one scan of the window and of the PII hold-back instead of one per delta), and what may
    /// be emitted goes with the choice's last delta in the batch. A block anywhere releases nothing of
    /// the batch. The reply also carries what each choice still holds back (<see cref="StreamVerdict.Held"/>).
    /// </summary>
    public StreamVerdict PushBatch(DeltaBatch batch, CancellationToken cancellationToken)
    {
        var reply = new StreamVerdict { Verdict = Verdict.Allow };
        var texts = new string[batch.Deltas.Count];
        Array.Fill(texts, "");

        // Choices in the order they first appear; most batches hold one choice, often one delta.
        var joined = new List<(int Index, StringBuilder Text, bool Done, int Last)>(1);
        for (var i = 0; i < batch.Deltas.Count; i++)
        {
            var delta = batch.Deltas[i];
            var at = joined.FindIndex(c => c.Index == delta.Index);
            if (at < 0)
            {
                joined.Add((delta.Index, new StringBuilder(delta.Text), delta.Done, i));
            }
            else
            {
                var (index, text, done, _) = joined[at];
                joined[at] = (index, text.Append(delta.Text), done || delta.Done, i);
            }
        }

        foreach (var (index, text, done, last) in joined)
        {
            var verdict = Push(new TextDelta { Index = index, Text = text.ToString(), Done = done }, cancellationToken);
            reply.Findings.Add(verdict.Findings);
            if (verdict.Verdict == Verdict.Block)
            {
                (reply.Verdict, reply.Guardrail, reply.Category, reply.Message) = (verdict.Verdict, verdict.Guardrail, verdict.Category, verdict.Message);
                return reply;
            }

            texts[last] = verdict.Text;
        }

        reply.Texts.Add(texts);
        foreach (var (index, choice) in _choices)
        {
            if (!choice.Done && Held(choice) is { Length: > 0 } held)
            {
                reply.Held[index] = held;
            }
        }

        return reply;
    }

    /// <summary>Flushes every choice the caller did not finish (the client half-closed).</summary>
    public IEnumerable<StreamVerdict> Finish(CancellationToken cancellationToken)
    {
        foreach (var index in _choices.Where(pair => !pair.Value.Done).Select(pair => pair.Key).ToList())
        {
            yield return Push(new TextDelta { Index = index, Done = true }, cancellationToken);
        }
    }

    private GuardrailBlock? CheckWindow(Choice choice, string delta, FindingsBuilder findings, CancellationToken cancellationToken)
    {
        if (_windowChecks.Count == 0 || delta.Length == 0)
        {
            return null;
        }

        choice.Window.Append(delta);
        var window = choice.Window.ToString();
        GuardrailBlock? block = null;
        foreach (var (rule, check) in _windowChecks)
        {
            try
            {
                var fresh = _evaluator.For(check.Kind).Find(check, window, cancellationToken)
                    .Where(hit => check.Kind == CheckKind.DenyList
                        ? choice.WindowStart + hit.End > choice.Checked   // a match that ends in the new text
                        : choice.Reported.Add((rule.Id, check.Name, hit.Category)))
                    .ToList();
                foreach (var hit in fresh)
                {
                    findings.Add(rule, check, hit.Category, GuardrailNames.Of(check.Action));
                }

                if (fresh.Count > 0 && check.Action == GuardrailAction.Block)
                {
                    block = new GuardrailBlock($"{rule.Id}/{check.Name}", fresh[0].Category);
                    break;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _evaluator.OnError(rule, check, findings, _requestId, e);
            }
        }

        choice.Checked = choice.WindowStart + choice.Window.Length;
        if (choice.Window.Length > WindowChars)
        {
            var drop = choice.Window.Length - WindowChars;
            choice.Window.Remove(0, drop);
            choice.WindowStart += drop;
        }

        return block;
    }

    private GuardrailBlock? Filter(Choice choice, string delta, bool flush, FindingsBuilder findings, out string text)
    {
        text = delta;
        for (var i = 0; i < choice.Filters.Count; i++)
        {
            var (rule, check) = _piiChecks[i];
            var filter = choice.Filters[i];
            try
            {
                var before = filter.Found.Count;
                text = filter.Push(text);
                if (flush)
                {
                    text += filter.Flush();
                }

                var found = filter.Found.Skip(before).ToList();
                foreach (var group in found.GroupBy(match => match.Type))
                {
                    findings.Add(rule, check, PiiTypes.Name(group.Key), GuardrailNames.Of(check.Action), group.Count());
                }

                if (found.Count > 0 && check.Action == GuardrailAction.Block)
                {
                    text = "";
                    return new GuardrailBlock($"{rule.Id}/{check.Name}", PiiTypes.Name(found[0].Type));
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _evaluator.OnError(rule, check, findings, _requestId, e);
            }
        }

        if (choice.Restorer is { } restorer)
        {
            text = restorer.Push(text) + (flush ? restorer.Flush() : "");
        }

        return null;
    }

    // What the choice's text still waits in, oldest first: the restorer holds text the last filter
    // released, each filter text the one before it released, the first filter the newest text.
    private static string Held(Choice choice)
    {
        var held = new StringBuilder(choice.Restorer?.Pending);
        for (var i = choice.Filters.Count - 1; i >= 0; i--)
        {
            held.Append(choice.Filters[i].Pending);
        }

        return held.ToString();
    }

    /// <summary>One choice's state: its PII filters (one per pii check), the window and what was already reported.</summary>
    private sealed class Choice(IReadOnlyList<StreamingPiiFilter> filters, StreamingRestorer? restorer)
    {
        public IReadOnlyList<StreamingPiiFilter> Filters { get; } = filters;

        public StreamingRestorer? Restorer { get; } = restorer;

        public StringBuilder Window { get; } = new();

        /// <summary>Absolute offset of <see cref="Window"/>'s first character in the choice's text.</summary>
        public long WindowStart { get; set; }

        /// <summary>Absolute end of the text the whole-text checks have seen.</summary>
        public long Checked { get; set; }

        /// <summary>Whole-text findings already reported: a window that still holds them must not count them again.</summary>
        public HashSet<(string Rule, string Check, string Category)> Reported { get; } = [];

        public bool Done { get; set; }
    }
}
