using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Guardrails.Moderation;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>
/// The moderation-model side of one CheckInput/CheckOutput call. First call: nothing supplied, so a
/// moderation check that names a <c>model</c> records the text it needs (<see cref="Needed"/>) and the
/// service asks the router for it. Second call: the router's answers are here, and a text whose model
/// failed (error, timeout, unknown model) is left to the built-in classifier.
/// </summary>
/// <remarks>
/// Why the router makes the call: it owns the catalog, the provider keys and the pooled upstream
/// connections, and the texts are only final (masked) once the earlier checks of this call ran here.
/// </remarks>
internal sealed class ExternalModerationScores
{
    private readonly Dictionary<(string Model, string Text), ExternalModeration> _supplied = [];
    private readonly List<ModerationNeeded> _needed = [];

    /// <summary>Holds what the router sent (nothing on a first call).</summary>
    public ExternalModerationScores(IEnumerable<ExternalModeration> supplied)
    {
        foreach (var item in supplied)
        {
            _supplied[(item.Model, item.Text)] = item;
        }
    }

    /// <summary>Whether this is the second call: the router has asked the models.</summary>
    public bool Supplied => _supplied.Count > 0;

    /// <summary>Texts the router must classify, per model (first call only).</summary>
    public IReadOnlyList<ModerationNeeded> Needed => _needed;

    /// <summary>Records that <paramref name="model"/> must classify <paramref name="text"/>.</summary>
    public void Need(string model, string text, TimeSpan timeout)
    {
        var entry = _needed.Find(n => n.Model == model);
        if (entry is null)
        {
            entry = new ModerationNeeded { Model = model, TimeoutMs = (int)timeout.TotalMilliseconds };
            _needed.Add(entry);
        }

        if (!entry.Texts.Contains(text))
        {
            entry.Texts.Add(text);
        }
    }

    /// <summary>
    /// The model's scores for <paramref name="text"/> in the built-in classifier's form, a parent
    /// category scored at least as high as its sub-categories (as the built-in one does); null when
    /// the model failed or was not asked.
    /// </summary>
    public ModerationScores? Scores(string model, string text)
    {
        if (!_supplied.TryGetValue((model, text), out var answer) || answer.Failed)
        {
            return null;
        }

        var scores = new double[ModerationCategories.Count];
        foreach (var (name, score) in answer.CategoryScores)
        {
            if (ModerationCategories.Parse(name) is { } category && double.IsFinite(score))
            {
                var clamped = Math.Clamp(score, 0, 1);
                scores[(int)category] = Math.Max(scores[(int)category], clamped);
                if (ModerationCategories.ParentOf(category) is { } parent)
                {
                    scores[(int)parent] = Math.Max(scores[(int)parent], clamped);
                }
            }
        }

        return new ModerationScores(scores, [.. scores.Select((score, c) => score >= ModerationCategories.DefaultThresholds[c])]);
    }
}
