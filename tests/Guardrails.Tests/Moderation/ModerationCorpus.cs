using System.Text.Json;
using Gateway.Aspire.Guardrails.Moderation;

namespace Gateway.Aspire.Guardrails.Tests.Moderation;

/// <summary>One labelled text of an evaluation file (the reviewers' format: id, text, flagged, categories).</summary>
internal sealed record ModerationExample(string Id, string Text, bool Flagged, IReadOnlySet<ModerationCategory> Categories);

/// <summary>Reads moderation evaluation files (JSON lines).</summary>
internal static class ModerationCorpus
{
    /// <summary>A corpus of this project (<c>moderation-corpus</c> or <c>moderation-holdout</c>), copied next to the test assembly.</summary>
    public static IReadOnlyList<ModerationExample> LoadOwn(string name) =>
        Load(Path.Combine(AppContext.BaseDirectory, "Moderation", name + ".jsonl"));

    /// <summary>Reads every non-empty line of <paramref name="path"/>; an unknown category name fails loudly.</summary>
    public static IReadOnlyList<ModerationExample> Load(string path)
    {
        var examples = new List<ModerationExample>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var categories = new HashSet<ModerationCategory>();
            foreach (var name in root.GetProperty("categories").EnumerateArray())
            {
                categories.Add(ModerationCategories.Parse(name.GetString()!)
                    ?? throw new InvalidDataException($"{path}: unknown category {name} in {line}"));
            }

            examples.Add(new ModerationExample(
                root.GetProperty("id").GetString()!, root.GetProperty("text").GetString()!, root.GetProperty("flagged").GetBoolean(), categories));
        }

        return examples;
    }
}

/// <summary>Precision and recall of one label over a corpus.</summary>
internal readonly record struct LabelMetrics(string Label, int TruePositives, int FalsePositives, int FalseNegatives)
{
    public double Precision => TruePositives + FalsePositives == 0 ? 1 : (double)TruePositives / (TruePositives + FalsePositives);

    public double Recall => TruePositives + FalseNegatives == 0 ? 1 : (double)TruePositives / (TruePositives + FalseNegatives);

    public int Support => TruePositives + FalseNegatives;

    public override string ToString() =>
        $"{Label,-24} P={Precision:0.000} R={Recall:0.000} (tp {TruePositives}, fp {FalsePositives}, fn {FalseNegatives})";

    /// <summary>Counts the expected labels against the classifier's decisions over paired examples.</summary>
    public static LabelMetrics Count(string label, IEnumerable<(bool Expected, bool Actual)> pairs)
    {
        int tp = 0, fp = 0, fn = 0;
        foreach (var (expected, actual) in pairs)
        {
            tp += expected && actual ? 1 : 0;
            fp += !expected && actual ? 1 : 0;
            fn += expected && !actual ? 1 : 0;
        }

        return new LabelMetrics(label, tp, fp, fn);
    }
}
