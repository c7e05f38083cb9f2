using Gateway.Aspire.Guardrails.Grpc;
using Gateway.Aspire.Guardrails.Rules;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>Counts findings by (rule, check, category, action), in the order they first occur.</summary>
internal sealed class FindingsBuilder
{
    private readonly List<Finding> _findings = [];

    /// <summary>Whether nothing was found.</summary>
    public bool IsEmpty => _findings.Count == 0;

    /// <summary>Adds <paramref name="count"/> occurrences.</summary>
    public void Add(GuardrailRule rule, GuardrailCheck check, string category, string action, int count = 1)
    {
        var checkName = check.Name;
        foreach (var finding in _findings)
        {
            if (finding.Rule == rule.Id && finding.Check == checkName && finding.Category == category && finding.Action == action)
            {
                finding.Count += count;
                return;
            }
        }

        _findings.Add(new Finding { Rule = rule.Id, Check = checkName, Category = category, Action = action, Count = count });
    }

    /// <summary>Moves the findings into <paramref name="target"/> and starts over.</summary>
    public void MoveTo(ICollection<Finding> target)
    {
        foreach (var finding in _findings)
        {
            target.Add(finding);
        }

        _findings.Clear();
    }
}
