namespace Gateway.Aspire.Guardrails.Pii.Detectors;

/// <summary>
/// Bank account numbers: 6–17 digits (optionally dash-grouped) right after account words ("account
/// number", "acct", "a/c", "checking account"), or after a bare "account" when banking words are
/// nearby. Account numbers have no check digit, so context is all there is; a user id after
/// "account" in a support chat is the typical false positive.
/// </summary>
internal sealed class BankAccountDetector : PiiDetector
{
    private static readonly System.Text.RegularExpressions.Regex Pattern = Candidates(@"\b\d{2,17}(-\d{2,10}){0,3}\b");

    private static readonly ContextWords AccountWords = new(
        "account number", "account no", "account #", "acct", "a/c", "bank account", "checking account", "savings account",
        "current account", "account num", "kontonummer", "beneficiary account", "deposit account", "checking", "savings");

    private static readonly ContextWords BareAccount = new("account");

    private static readonly ContextWords BankingWords = new(
        "bank", "routing", "wire", "deposit", "transfer", "checking", "savings", "iban", "swift", "branch", "sort code", "ach", "direct debit", "payroll");

    /// <inheritdoc />
    public override PiiType Type => PiiType.BankAccount;

    /// <inheritdoc />
    public override int MaxLength => 24;

    /// <inheritdoc />
    public override bool SpansWhitespace => false;

    /// <inheritdoc />
    public override bool MightContain(string text) => HasDigit(text);

    /// <inheritdoc />
    public override void Detect(string text, List<PiiMatch> found)
    {
        foreach (var m in Pattern.EnumerateMatches(text))
        {
            var start = m.Index;
            var end = m.Index + m.Length;
            var digits = m.Length - text.AsSpan(start, m.Length).Count('-');
            // 2-2-2 is a UK sort code (the bank, not the account).
            var sortCode = m.Length == 8 && text[start + 2] == '-' && text[start + 5] == '-';
            if (digits is < 6 or > 17 || sortCode || m.Length > MaxLength || !TextBoundaries.IsolatedNumber(text, start, end))
            {
                continue;
            }

            double confidence;
            if (AccountWords.Before(text, start, 32))
            {
                confidence = 0.75;
            }
            else if (BareAccount.Before(text, start, 24) && BankingWords.Near(text, start, end, 80, 40))
            {
                confidence = 0.7;
            }
            else
            {
                continue;
            }

            found.Add(new PiiMatch(PiiType.BankAccount, start, end - start, confidence));
        }
    }
}
