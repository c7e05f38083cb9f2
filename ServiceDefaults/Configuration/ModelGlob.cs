namespace Gateway.Aspire.ServiceDefaults.Configuration;

/// <summary>
/// <c>when.models</c> patterns: a model id such as <c>openai/gpt-4o</c>, where <c>*</c> stands for
/// any run of characters (<c>*</c>, <c>openai/*</c>, <c>*/gpt-4o*</c>). Ordinal and case-sensitive,
/// like the catalog's ids. Shared by the guardrails service (its rules) and the router (the same rules' scope,
/// for when guardrails cannot be reached).
/// </summary>
public static class ModelGlob
{
    /// <summary>Whether <paramref name="model"/> matches <paramref name="pattern"/>.</summary>
    /// <remarks>The classic two-pointer wildcard match: on a mismatch it retries from the last <c>*</c>, so it is O(n·m) at worst and never exponential.</remarks>
    public static bool IsMatch(string pattern, string model)
    {
        int p = 0, m = 0, star = -1, mark = 0;
        while (m < model.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = m;
            }
            else if (p < pattern.Length && pattern[p] == model[m])
            {
                p++;
                m++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                m = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
