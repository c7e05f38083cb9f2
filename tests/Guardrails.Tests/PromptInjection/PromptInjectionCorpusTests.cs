using System.Text.Json;
using Gateway.Aspire.Guardrails.PromptInjection;
using Gateway.Aspire.Guardrails.Tests.Moderation;

namespace Gateway.Aspire.Guardrails.Tests.PromptInjection;

/// <summary>
/// The prompt-injection heuristics against a labelled corpus of attacks (every family, obfuscated
/// and encoded variants) and hard negatives (git ignore, developer mode on Android, articles quoting
/// attacks, chat-template questions, base64 images and JWTs). The floors are what the detector meets
/// today with a little room; docs/guardrails.md has the exact numbers.
/// </summary>
public sealed class PromptInjectionCorpusTests(ITestOutputHelper output)
{
    private static readonly PromptInjectionDetector Detector = new();

    [Fact]
    public void Corpus_MeetsPrecisionAndRecallFloors_AtTheDefaultThreshold()
    {
        var overall = Evaluate("injection-corpus");

        Assert.True(overall.Support + overall.FalsePositives >= 150, "the corpus should hold hundreds of examples");
        Assert.True(overall.Precision >= 0.95, overall.ToString());
        Assert.True(overall.Recall >= 0.95, overall.ToString());
    }

    /// <summary>Written after the heuristics were tuned on the corpus and never tuned on: the honest estimate.</summary>
    [Fact]
    public void Holdout_MeetsPrecisionAndRecallFloors_AtTheDefaultThreshold()
    {
        var overall = Evaluate("injection-holdout");

        Assert.True(overall.Precision >= 0.9, overall.ToString());
        Assert.True(overall.Recall >= 0.8, overall.ToString());
    }

    private LabelMetrics Evaluate(string name)
    {
        var examples = Load(name);
        var results = examples.Select(e => (Example: e, Score: Detector.Score(e.Text))).ToList();
        var overall = LabelMetrics.Count("prompt_injection",
            results.Select(r => (r.Example.Injection, r.Score.Score >= PromptInjectionDetector.DefaultThreshold)));

        output.WriteLine($"{name}: {examples.Count} examples ({examples.Count(e => e.Injection)} injections)");
        output.WriteLine(overall.ToString());
        foreach (var family in examples.Where(e => e.Injection).Select(e => e.Family).Distinct())
        {
            var ofFamily = results.Where(r => r.Example.Family == family).ToList();
            var found = ofFamily.Count(r => r.Score.Score >= PromptInjectionDetector.DefaultThreshold);
            output.WriteLine($"{family,-22} recall {found}/{ofFamily.Count} = {(double)found / ofFamily.Count:0.000}");
        }

        foreach (var (example, score) in results.Where(r => r.Example.Injection != r.Score.Score >= PromptInjectionDetector.DefaultThreshold))
        {
            output.WriteLine($"{(example.Injection ? "MISSED" : "FALSE ")} {example.Id} {score.Score:0.00} {score.Category}: {example.Text}");
        }

        return overall;
    }

    [Fact]
    public void Corpus_Injections_AreNamedWithTheirFamily()
    {
        var examples = Load("injection-corpus").Where(e => e.Injection).ToList();
        var named = examples.Select(e => Detector.Score(e.Text))
            .Zip(examples, (score, example) => score.Score < PromptInjectionDetector.DefaultThreshold || score.Category == example.Family)
            .Count(correct => correct);

        Assert.True(named >= examples.Count * 0.85, $"{named} of {examples.Count} detected injections carry their own family");
    }

    internal sealed record InjectionExample(string Id, string Text, bool Injection, string? Family);

    internal static IReadOnlyList<InjectionExample> Load(string name)
    {
        var examples = new List<InjectionExample>();
        foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "PromptInjection", name + ".jsonl")))
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            examples.Add(new InjectionExample(root.GetProperty("id").GetString()!, root.GetProperty("text").GetString()!,
                root.GetProperty("injection").GetBoolean(), root.GetProperty("family").GetString()));
        }

        return examples;
    }
}
