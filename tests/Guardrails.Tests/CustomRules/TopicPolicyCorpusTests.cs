using System.Text.Json;
using Gateway.Aspire.Guardrails.CustomRules;
using Gateway.Aspire.Guardrails.Tests.Moderation;

namespace Gateway.Aspire.Guardrails.Tests.CustomRules;

/// <summary>
/// The built-in topic policies against <c>topic-holdout.jsonl</c>: 120 texts written after the
/// policies and never tuned on, per policy asking for or giving the forbidden thing, and hard
/// negatives that talk about the topic (what a stock is, insider-trading law, compliance drafts,
/// "restock", "soup stock", "which laptop should I buy"). Each policy is measured on its own
/// positives and all the negatives (an insider-trading plan that also asks for a trade is not a
/// false alarm of no_financial_advice). The patterns are tuned on <c>topic-dev.jsonl</c> only; the
/// holdout was measured once after that tuning and its floors are those numbers, so they can only
/// get better (about half the insider-trading and 40% of the advice paraphrases are still missed);
/// docs/guardrails.md has the numbers.
/// </summary>
public sealed class TopicPolicyCorpusTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("no_financial_advice", 1.0, 0.6)]
    [InlineData("no_insider_trading", 1.0, 0.55)]
    public void Holdout_PrecisionAndRecall_ReachTheFloors(string policy, double precision, double recall) =>
        AssertFloors("topic-holdout.jsonl", policy, precision, recall);

    /// <summary>The set the patterns are tuned on; its numbers are optimistic by construction, the holdout's are the estimate.</summary>
    [Theory]
    [InlineData("no_financial_advice", 0.95, 0.9)]
    [InlineData("no_insider_trading", 1.0, 1.0)]
    public void Dev_PrecisionAndRecall_ReachTheFloors(string policy, double precision, double recall) =>
        AssertFloors("topic-dev.jsonl", policy, precision, recall);

    private void AssertFloors(string file, string policy, double precision, double recall)
    {
        var list = new DenyList(TopicPolicies.Compiled(policy), []);
        var examples = Load(file).Where(e => e.Policy is null || e.Policy == policy).ToList();
        var results = examples.Select(e => (Example: e, Denied: list.Find(e.Text).Count > 0)).ToList();
        var metrics = LabelMetrics.Count(policy, results.Select(r => (r.Example.Policy == policy, r.Denied)));

        output.WriteLine(metrics.ToString());
        foreach (var (example, denied) in results.Where(r => (r.Example.Policy == policy) != r.Denied))
        {
            output.WriteLine($"{(denied ? "FALSE " : "MISSED")} {example.Id}: {example.Text}");
        }

        Assert.True(metrics.Precision >= precision && metrics.Recall >= recall, $"{metrics} is under the floor P≥{precision} R≥{recall}");
    }

    private sealed record TopicExample(string Id, string Text, string? Policy);

    private static List<TopicExample> Load(string file) =>
        [.. File.ReadLines(Path.Combine(AppContext.BaseDirectory, "CustomRules", file)).Select(line =>
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            return new TopicExample(root.GetProperty("id").GetString()!, root.GetProperty("text").GetString()!, root.GetProperty("policy").GetString());
        })];
}
