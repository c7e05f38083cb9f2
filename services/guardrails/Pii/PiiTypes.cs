namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>The configuration names (snake_case, as in <c>gateway-guardrails-config</c>) and placeholder labels of <see cref="PiiType"/>.</summary>
internal static class PiiTypes
{
    private static readonly string[] Names =
        ["email", "phone", "credit_card", "iban", "us_ssn", "aba_routing", "bank_account", "ip_address", "secret", "date_of_birth"];

    private static readonly string[] Labels =
        ["EMAIL", "PHONE", "CARD", "IBAN", "SSN", "ROUTING", "ACCOUNT", "IP", "SECRET", "DOB"];

    /// <summary>Every type, in declaration order.</summary>
    public static IReadOnlyList<PiiType> All { get; } = Enum.GetValues<PiiType>();

    /// <summary>Reads a configuration name such as <c>credit_card</c> (exact, lower case).</summary>
    public static bool TryParse(string name, out PiiType type)
    {
        var index = Array.IndexOf(Names, name);
        type = (PiiType)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>The configuration name of <paramref name="type"/>, e.g. <c>credit_card</c>.</summary>
    public static string Name(PiiType type) => Names[(int)type];

    /// <summary>The label inside a mask placeholder, e.g. <c>CARD</c> in <c>[CARD_1]</c>.</summary>
    public static string PlaceholderLabel(PiiType type) => Labels[(int)type];

    /// <summary>The type whose placeholder label is <paramref name="label"/>.</summary>
    public static bool TryParseLabel(ReadOnlySpan<char> label, out PiiType type)
    {
        for (var i = 0; i < Labels.Length; i++)
        {
            if (label.SequenceEqual(Labels[i]))
            {
                type = (PiiType)i;
                return true;
            }
        }

        type = default;
        return false;
    }
}
