using Gateway.Aspire.Guardrails.Moderation;
using Gateway.Aspire.Testing;

namespace Gateway.Aspire.Guardrails.Tests.Moderation;

/// <summary>
/// Accuracy of the built-in classifier on the labelled corpus. The floors sit a little under the
/// measured numbers (docs/guardrails-moderation.md) so that a lexicon change that loses accuracy
/// fails here; raise them when the classifier improves.
/// </summary>
public sealed class ModerationCorpusTests
{
    /// <summary>Floors on the development corpus: (label, precision, recall). "flagged" is the any-category decision.</summary>
    private static readonly (string Label, double Precision, double Recall)[] CorpusFloors =
    [
        ("flagged", 0.97, 0.95),
        ("harassment", 0.95, 0.95),
        ("harassment/threatening", 0.95, 0.95),
        ("hate", 0.95, 0.95),
        ("hate/threatening", 0.95, 0.9),
        ("illicit", 0.95, 0.95),
        ("illicit/violent", 0.95, 0.9),
        ("self-harm", 0.95, 0.93),
        ("self-harm/intent", 0.95, 0.95),
        ("self-harm/instructions", 0.95, 0.9),
        ("sexual", 0.95, 0.95),
        ("sexual/minors", 0.95, 0.85),
        ("violence", 0.95, 0.93),
        ("violence/graphic", 0.95, 0.7),
    ];

    /// <summary>
    /// Floors on the holdout set, written after the lexicon and never tuned on: the honest estimate
    /// (recall is low; see the weaknesses in the docs). Only "flagged" has a floor, the per-category
    /// supports are too small.
    /// </summary>
    private static readonly (string Label, double Precision, double Recall)[] HoldoutFloors =
    [
        ("flagged", 0.9, 0.4),
    ];

    private static readonly ModerationClassifier Classifier = new();

    [Fact]
    public void Corpus_IsLargeAndCoversEveryCategoryWithHardNegatives()
    {
        var corpus = ModerationCorpus.LoadOwn("moderation-corpus");

        Assert.True(corpus.Count >= 300, $"corpus has {corpus.Count} lines");
        Assert.True(corpus.Count(e => !e.Flagged) >= 150, "too few negatives");
        Assert.All(corpus, e => Assert.Equal(e.Flagged, e.Categories.Count > 0));
        Assert.Equal(corpus.Count, corpus.Select(e => e.Id).Distinct().Count());
        for (var c = 0; c < ModerationCategories.Count; c++)
        {
            Assert.True(corpus.Count(e => e.Categories.Contains((ModerationCategory)c)) >= 5, $"too few {ModerationCategories.Names[c]} positives");
        }
    }

    [Fact]
    public void Corpus_PrecisionAndRecall_ReachTheFloors() => AssertFloors("moderation-corpus", CorpusFloors);

    [Fact]
    public void Holdout_PrecisionAndRecall_ReachTheFloors() => AssertFloors("moderation-holdout", HoldoutFloors);

    private static void AssertFloors(string corpus, (string Label, double Precision, double Recall)[] floors)
    {
        var metrics = Evaluate(ModerationCorpus.LoadOwn(corpus), out var errors);
        var report = string.Join('\n', metrics.Values) + "\n\nMisclassified:\n" + string.Join('\n', errors);

        foreach (var (label, precision, recall) in floors)
        {
            Assert.True(metrics[label].Precision >= precision && metrics[label].Recall >= recall,
                $"{metrics[label]} is under the floor P≥{precision} R≥{recall}.\n\n{report}");
        }
    }

    [Fact]
    public void SharedReviewerSamples_AreAllClassifiedExactly()
    {
        var path = Path.GetFullPath(Path.Combine(RepositoryRoot.Find(), "..", "shared", "samples", "moderation.jsonl"));
        Assert.SkipUnless(File.Exists(path), $"reviewer samples not present at {path}");

        foreach (var sample in ModerationCorpus.Load(path))
        {
            var result = Classifier.Classify(sample.Text, TestContext.Current.CancellationToken);

            Assert.True(sample.Flagged == result.Flagged, $"{sample.Id}: expected flagged={sample.Flagged}: {sample.Text}");
            Assert.Equal(sample.Categories.OrderBy(c => c), FlaggedCategories(result));
        }
    }

    private static Dictionary<string, LabelMetrics> Evaluate(IReadOnlyList<ModerationExample> corpus, out List<string> errors)
    {
        var results = corpus.Select(e => Classifier.Classify(e.Text, TestContext.Current.CancellationToken)).ToList();
        errors = [];
        for (var i = 0; i < corpus.Count; i++)
        {
            var expected = corpus[i].Categories.OrderBy(c => c).ToList();
            var actual = FlaggedCategories(results[i]);
            if (!expected.SequenceEqual(actual))
            {
                errors.Add($"{corpus[i].Id} expected [{Names(expected)}] got [{Names(actual)}]: {corpus[i].Text}");
            }
        }

        var metrics = new Dictionary<string, LabelMetrics>
        {
            ["flagged"] = LabelMetrics.Count("flagged", corpus.Select((e, i) => (e.Flagged, results[i].Flagged))),
        };
        for (var c = 0; c < ModerationCategories.Count; c++)
        {
            var category = (ModerationCategory)c;
            var name = ModerationCategories.Names[c];
            metrics[name] = LabelMetrics.Count(name, corpus.Select((e, i) => (e.Categories.Contains(category), results[i].IsFlagged(category))));
        }

        return metrics;
    }

    private static List<ModerationCategory> FlaggedCategories(ModerationScores result) =>
        [.. Enumerable.Range(0, ModerationCategories.Count).Where(c => result.Categories[c]).Select(c => (ModerationCategory)c)];

    private static string Names(IEnumerable<ModerationCategory> categories) =>
        string.Join(", ", categories.Select(c => ModerationCategories.Names[(int)c]));
}
