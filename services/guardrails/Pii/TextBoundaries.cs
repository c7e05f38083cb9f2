namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>Checks that a candidate stands on its own rather than being part of a longer code or number.</summary>
internal static class TextBoundaries
{
    /// <summary>
    /// Whether the number at [<paramref name="start"/>, <paramref name="end"/>) is not glued to a
    /// letter or digit, nor joined by <c>. - / _</c> to one ("ID-123-45-6789", "1.2.3.4.5", "v2"):
    /// such runs are part numbers, versions or dates, not the value on its own.
    /// </summary>
    public static bool IsolatedNumber(string text, int start, int end)
    {
        if (start > 0)
        {
            var c = text[start - 1];
            if (char.IsLetterOrDigit(c) || (IsJoiner(c) && start > 1 && char.IsLetterOrDigit(text[start - 2])))
            {
                return false;
            }
        }

        if (end < text.Length)
        {
            var c = text[end];
            if (char.IsLetterOrDigit(c) || (IsJoiner(c) && end + 1 < text.Length && char.IsLetterOrDigit(text[end + 1])))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether the token at [<paramref name="start"/>, <paramref name="end"/>) is not glued to another token character.</summary>
    public static bool IsolatedToken(string text, int start, int end) =>
        (start == 0 || !IsTokenChar(text[start - 1])) && (end >= text.Length || !IsTokenChar(text[end]));

    /// <summary>Characters of keys and tokens: letters, digits, <c>_</c> and <c>-</c>.</summary>
    public static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    private static bool IsJoiner(char c) => c is '.' or '-' or '/' or '_';
}
