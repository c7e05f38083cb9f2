namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>One run of digits inside a candidate such as "4111 1111 1111 1111" or "(415) 555-0132".</summary>
internal readonly record struct DigitGroup(int Start, int Length)
{
    /// <summary>The offset just after the group.</summary>
    public int End => Start + Length;
}

/// <summary>Splits number candidates into digit groups, so detectors can try group-aligned windows ("4111111111111111 12/25" holds a card in its first group).</summary>
internal static class DigitGroups
{
    /// <summary>The digit groups of [<paramref name="start"/>, <paramref name="end"/>) in order.</summary>
    public static List<DigitGroup> Split(string text, int start, int end)
    {
        var groups = new List<DigitGroup>();
        var i = start;
        while (i < end)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                i++;
                continue;
            }

            var s = i;
            while (i < end && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            groups.Add(new DigitGroup(s, i - s));
        }

        return groups;
    }

    /// <summary>The number of digits in groups <paramref name="first"/>..<paramref name="last"/> (inclusive).</summary>
    public static int Digits(List<DigitGroup> groups, int first, int last)
    {
        var digits = 0;
        for (var g = first; g <= last; g++)
        {
            digits += groups[g].Length;
        }

        return digits;
    }

    /// <summary>The characters between group <paramref name="g"/> and the next one.</summary>
    public static ReadOnlySpan<char> SeparatorAfter(string text, List<DigitGroup> groups, int g) =>
        text.AsSpan(groups[g].End, groups[g + 1].Start - groups[g].End);
}
