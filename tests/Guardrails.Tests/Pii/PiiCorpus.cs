using System.Text.Json;
using Gateway.Aspire.Guardrails.Pii;
using Gateway.Aspire.Guardrails.Tests.Moderation;

namespace Gateway.Aspire.Guardrails.Tests.Pii;

/// <summary>One expected value of an example: its type and the exact text it has in the example.</summary>
internal readonly record struct PiiLabel(PiiType Type, string Value);

/// <summary>One labelled text of an evaluation file (the reviewers' format: id, text, pii: [{type, value}]).</summary>
internal sealed record PiiExample(string Id, string Text, IReadOnlyList<PiiLabel> Pii);

/// <summary>Reads PII evaluation files (JSON lines) and scores a scanner on them.</summary>
internal static class PiiCorpus
{
    /// <summary>A corpus of this project (<c>pii-corpus</c>), copied next to the test assembly.</summary>
    public static IReadOnlyList<PiiExample> LoadOwn(string name) =>
        Load(Path.Combine(AppContext.BaseDirectory, "Pii", name + ".jsonl"));

    /// <summary>Reads every non-empty line of <paramref name="path"/>; an unknown type or a value not in the text fails loudly.</summary>
    public static IReadOnlyList<PiiExample> Load(string path)
    {
        var examples = new List<PiiExample>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var text = root.GetProperty("text").GetString()!;
            var labels = new List<PiiLabel>();
            foreach (var item in root.GetProperty("pii").EnumerateArray())
            {
                var typeName = item.GetProperty("type").GetString()!;
                var value = item.GetProperty("value").GetString()!;
                if (!PiiTypes.TryParse(typeName, out var type))
                {
                    throw new InvalidDataException($"{path}: unknown PII type {typeName} in {line}");
                }

                if (!text.Contains(value, StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"{path}: value \"{value}\" does not occur in the text of {line}");
                }

                labels.Add(new PiiLabel(type, value));
            }

            examples.Add(new PiiExample(root.GetProperty("id").GetString()!, text, labels));
        }

        return examples;
    }

    /// <summary>What the scanner found in <paramref name="text"/>, as labels, restricted to <paramref name="types"/> when given.</summary>
    public static List<PiiLabel> Detect(PiiScanner scanner, string text, IReadOnlySet<PiiType>? types = null) =>
        [.. scanner.Scan(text).Where(m => types is null || types.Contains(m.Type)).Select(m => new PiiLabel(m.Type, m.ValueIn(text)))];

    /// <summary>
    /// Per-type precision and recall: a found value is a true positive when an expected value of the
    /// same type has exactly the same text (each expected value counts once), otherwise a false positive;
    /// an expected value nobody found is a false negative. <paramref name="errors"/> lists every miss.
    /// </summary>
    public static Dictionary<PiiType, LabelMetrics> Evaluate(PiiScanner scanner, IReadOnlyList<PiiExample> corpus, out List<string> errors)
    {
        var counts = PiiTypes.All.ToDictionary(t => t, _ => (Tp: 0, Fp: 0, Fn: 0));
        errors = [];
        foreach (var example in corpus)
        {
            var expected = example.Pii.ToList();
            foreach (var found in Detect(scanner, example.Text))
            {
                var c = counts[found.Type];
                if (expected.Remove(found))
                {
                    counts[found.Type] = c with { Tp = c.Tp + 1 };
                }
                else
                {
                    counts[found.Type] = c with { Fp = c.Fp + 1 };
                    errors.Add($"FP {PiiTypes.Name(found.Type)} \"{found.Value}\" in {example.Id}: {example.Text}");
                }
            }

            foreach (var missed in expected)
            {
                var c = counts[missed.Type];
                counts[missed.Type] = c with { Fn = c.Fn + 1 };
                errors.Add($"FN {PiiTypes.Name(missed.Type)} \"{missed.Value}\" in {example.Id}: {example.Text}");
            }
        }

        return counts.ToDictionary(kv => kv.Key, kv => new LabelMetrics(PiiTypes.Name(kv.Key), kv.Value.Tp, kv.Value.Fp, kv.Value.Fn));
    }
}
