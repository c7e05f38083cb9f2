namespace Gateway.Aspire.Guardrails.Pii.Detectors;

/// <summary>
/// Secrets: API keys with well-known prefixes, JWTs, PEM private key blocks and other high-entropy
/// tokens.
/// <list type="bullet">
/// <item>Prefixed keys: OpenAI <c>sk-</c> / <c>sk-proj-</c>, Anthropic <c>sk-ant-</c>, AWS access key ids
/// (<c>AKIA</c>/<c>ASIA</c>… + 16 base-32 characters), GitHub <c>ghp_ gho_ ghu_ ghs_ ghr_ github_pat_</c>,
/// Slack <c>xoxb- xoxp- …</c>, Google <c>AIza</c>, Stripe <c>sk_live_ rk_live_ sk_test_</c>, GitLab
/// <c>glpat-</c>, Hugging Face <c>hf_</c>, npm <c>npm_</c>. The body must look random
/// (<see cref="MinPrefixedEntropy"/> bits per character, letters and digits), so "sk-learn-tutorial"
/// and "AKIAXXXXXXXXXXXXXXXX" are not keys.</item>
/// <item>JWTs: three base64url parts, the first two starting <c>eyJ</c> (a JSON object).</item>
/// <item>PEM private keys: from <c>-----BEGIN … PRIVATE KEY-----</c> to its END line (or the end of text, at most <see cref="MaxPemLength"/>).</item>
/// <item>Credential assignments: the value of <c>password=</c>, <c>pwd:</c>, <c>api_key=</c>, <c>client_secret:</c>…
/// (6–256 characters with a digit; <c>${VAR}</c>, <c>&lt;password&gt;</c>, <c>****</c>, <c>your_…</c> are placeholders, not secrets).</item>
/// <item>High-entropy tokens: 24–256 characters of <c>[A-Za-z0-9+/_=-]</c> with upper case, lower case and
/// digits, Shannon entropy ≥ <see cref="MinTokenEntropy"/> bits per character and a character class
/// changing at ≥ <see cref="MinClassChanges"/> of positions (random text changes at about 0.6), and
/// words no longer than <see cref="MaxMeanWordLength"/> on average (identifiers have longer ones);
/// hex hashes and UUIDs have no upper case, CamelCase identifiers fail the last two. Base64 inside
/// public-key and certificate blocks is skipped. After "key", "token", "secret"
/// or "password" 16 characters and lower bars suffice.</item>
/// </list>
/// </summary>
internal sealed class SecretDetector : PiiDetector
{
    /// <summary>The longest PEM block reported as one match (an RSA-4096 key in PKCS#1 is about 3.3 KB).</summary>
    public const int MaxPemLength = 8192;

    /// <summary>The longest token (JWT or key) reported.</summary>
    public const int MaxTokenLength = 2048;

    /// <summary>Entropy floor of a prefixed key's body, bits per character.</summary>
    public const double MinPrefixedEntropy = 3.0;

    /// <summary>Entropy floor of an unprefixed token, bits per character.</summary>
    public const double MinTokenEntropy = 4.0;

    /// <summary>Share of positions where the character class (upper, lower, digit, other) changes, floor for unprefixed tokens.</summary>
    public const double MinClassChanges = 0.35;

    /// <summary>Ceiling on the mean word length of an unprefixed token (<see cref="MeanWordLength"/>).</summary>
    public const double MaxMeanWordLength = 3.2;

    private const string PemBegin = "-----BEGIN ";

    private static readonly System.Text.RegularExpressions.Regex Prefixed = Candidates(
        @"\b(sk-ant-[A-Za-z0-9_\-]{20,}|sk-(proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}|(AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[A-Z2-7]{16}"
        + @"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35}"
        + @"|[rs]k_(live|test)_[A-Za-z0-9]{16,}|glpat-[A-Za-z0-9_\-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36,}"
        + @"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,})");

    // Token runs are found by a loop, not a regex: on a long run of digits the NonBacktracking
    // engine took quadratic time for "[A-Za-z0-9+/_=-]+" (seconds for 64 K characters), a loop is linear.
    private static readonly System.Buffers.SearchValues<char> TokenChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-");

    // "password=…", "api_key: '…'": the value after a credential name, whatever its entropy. The
    // value is found in code; placeholders such as "<password>", "${DB_PASSWORD}" or "****" are not secrets.
    private static readonly System.Text.RegularExpressions.Regex Assignments = Candidates(
        @"(password|passwd|pwd|client_secret|secret_key|api_key|apikey|access_token|auth_token)[""']?[ ]?[:=][ ]?[""']?[^\s""';,&<>]+",
        ignoreCase: true);

    private static readonly ContextWords SecretWords = new(
        "key", "token", "secret", "password", "passwd", "pwd", "api_key", "apikey", "api-key", "bearer", "authorization",
        "credential", "credentials", "access_key", "secret_key", "client_secret", "auth");

    /// <inheritdoc />
    public override PiiType Type => PiiType.Secret;

    /// <inheritdoc />
    public override int MaxLength => MaxPemLength;

    /// <inheritdoc />
    public override bool SpansWhitespace => true;

    /// <inheritdoc />
    public override bool MightContain(string text) => true;

    /// <inheritdoc />
    public override void Detect(string text, List<PiiMatch> found)
    {
        foreach (var m in Prefixed.EnumerateMatches(text))
        {
            var end = m.Index + m.Length;
            if (m.Length <= MaxTokenLength && TextBoundaries.IsolatedToken(text, m.Index, end) && RandomBody(text.AsSpan(m.Index, m.Length), text[m.Index] == 'A'))
            {
                found.Add(new PiiMatch(PiiType.Secret, m.Index, m.Length, 0.95));
            }
        }

        // Base64 inside public keys and certificates is random but not secret; private blocks are reported whole below.
        var blocks = PemBlocks(text);
        var position = 0;
        while (position < text.Length)
        {
            var start = text.AsSpan(position).IndexOfAny(TokenChars);
            if (start < 0)
            {
                break;
            }

            start += position;
            var length = text.AsSpan(start).IndexOfAnyExcept(TokenChars);
            length = length < 0 ? text.Length - start : length;

            // Base64 padding belongs to the token; an '=' inside is an assignment ("token=…").
            for (var pad = 0; pad < 2 && start + length < text.Length && text[start + length] == '='; pad++)
            {
                length++;
            }

            if (length is >= 16 and <= 256 && !InsideAny(blocks, start) && HighEntropy(text, start, length))
            {
                found.Add(new PiiMatch(PiiType.Secret, start, length, 0.75));
            }

            position = start + length;
        }

        FindPemBlocks(text, found);
        FindAssignments(text, found);
    }

    private static void FindAssignments(string text, List<PiiMatch> found)
    {
        if (!text.Contains('=') && !text.Contains(':'))
        {
            return;
        }

        foreach (var m in Assignments.EnumerateMatches(text))
        {
            var value = m.Index + text.AsSpan(m.Index, m.Length).IndexOfAny(':', '=') + 1;
            var end = m.Index + m.Length;
            while (value < end && text[value] is ' ' or '"' or '\'')
            {
                value++;
            }

            var secret = text.AsSpan(value, end - value);
            var placeholder = secret.IsEmpty || secret[0] is '$' or '{' or '%' or '*' or '[' || secret.Contains("xxxx", StringComparison.OrdinalIgnoreCase)
                || secret.Contains("your", StringComparison.OrdinalIgnoreCase) || secret.Contains("changeme", StringComparison.OrdinalIgnoreCase);
            if (secret.Length is >= 6 and <= 256 && !placeholder && secret.ContainsAnyInRange('0', '9'))
            {
                found.Add(new PiiMatch(PiiType.Secret, value, secret.Length, 0.8));
            }
        }
    }

    /// <summary>The start of a private key block whose END line has not arrived yet, or -1 (a stream holds text from there).</summary>
    public static int OpenPemBlock(string text)
    {
        var begin = text.LastIndexOf(PemBegin, StringComparison.Ordinal);
        if (begin < 0)
        {
            // A partial "-----BEG" at the very end may still become a header.
            var dash = text.LastIndexOf("-----", StringComparison.Ordinal);
            return dash >= 0 && PemBegin.StartsWith(text.AsSpan(dash), StringComparison.Ordinal) ? dash : -1;
        }

        // A complete header that is not a private key (a certificate, a public key) need not be held.
        var headerEnd = text.IndexOf("-----", begin + PemBegin.Length, StringComparison.Ordinal);
        if (headerEnd >= 0 && !text.AsSpan(begin, headerEnd - begin).EndsWith("PRIVATE KEY", StringComparison.Ordinal))
        {
            return -1;
        }

        return text.IndexOf("-----END ", begin, StringComparison.Ordinal) < 0 && text.Length - begin < MaxPemLength ? begin : -1;
    }

    private static bool InsideAny(List<Range> blocks, int index)
    {
        foreach (var block in blocks)
        {
            if (block.Start.Value <= index && index < block.End.Value)
            {
                return true;
            }
        }

        return false;
    }

    private static List<Range> PemBlocks(string text)
    {
        var blocks = new List<Range>();
        for (var begin = text.IndexOf(PemBegin, StringComparison.Ordinal); begin >= 0; begin = text.IndexOf(PemBegin, begin + 1, StringComparison.Ordinal))
        {
            var end = text.IndexOf("-----END ", begin, StringComparison.Ordinal);
            blocks.Add(begin..(end < 0 ? text.Length : end));
            if (end < 0)
            {
                break;
            }
        }

        return blocks;
    }

    private static void FindPemBlocks(string text, List<PiiMatch> found)
    {
        var from = 0;
        while (from < text.Length)
        {
            var begin = text.IndexOf(PemBegin, from, StringComparison.Ordinal);
            if (begin < 0)
            {
                return;
            }

            var headerEnd = text.IndexOf("-----", begin + PemBegin.Length, StringComparison.Ordinal);
            if (headerEnd < 0 || headerEnd - begin > 60 || !text.AsSpan(begin, headerEnd - begin).EndsWith("PRIVATE KEY", StringComparison.Ordinal))
            {
                from = begin + PemBegin.Length;
                continue;
            }

            var endLine = text.IndexOf("-----END ", headerEnd, StringComparison.Ordinal);
            var end = endLine < 0 ? text.Length : text.IndexOf("-----", endLine + 9, StringComparison.Ordinal) is var close and >= 0 ? close + 5 : text.Length;
            end = Math.Min(end, begin + MaxPemLength);
            found.Add(new PiiMatch(PiiType.Secret, begin, end - begin, 0.99));
            from = end;
        }
    }

    /// <summary>Whether the part after a key's prefix looks random: letters, digits, entropy over <see cref="MinPrefixedEntropy"/>.</summary>
    private static bool RandomBody(ReadOnlySpan<char> key, bool fixedFormat)
    {
        // AWS ids and Google keys have an exact length and alphabet already; 16 random base-32
        // characters fall under 3 bits of entropy often enough that they get a lower floor.
        var floor = fixedFormat ? MinPrefixedEntropy - 0.5 : MinPrefixedEntropy;
        var body = key[(key.IndexOfAny('-', '_') is var sep and >= 0 && sep < 12 ? sep + 1 : 4)..];
        // Random base-32 AWS ids lack a digit 4% of the time; without one, ask for more entropy instead.
        var entropy = Entropy(body);
        return body.ContainsAnyInRange('A', 'z') && (body.ContainsAnyInRange('0', '9') ? entropy >= floor : entropy >= floor + 0.4);
    }

    private static bool HighEntropy(string text, int start, int length)
    {
        var token = text.AsSpan(start, length).TrimEnd('=');
        if (!TextBoundaries.IsolatedToken(text, start, start + length) || (start > 0 && text[start - 1] is '.' or '@' or '/' or ':' or '\\'))
        {
            return false;
        }

        var context = SecretWords.Before(text, start, 32);
        var minLength = context ? 16 : 24;
        var minEntropy = context ? 3.5 : MinTokenEntropy;
        var minChanges = context ? 0.25 : MinClassChanges;
        if (token.Length < minLength || token.Contains("//", StringComparison.Ordinal)
            || !token.ContainsAnyInRange('0', '9') || !token.ContainsAnyInRange('a', 'z') || !token.ContainsAnyInRange('A', 'Z'))
        {
            return false;
        }

        return ClassChanges(token) >= minChanges && MeanWordLength(token) <= (context ? 3.6 : MaxMeanWordLength) && Entropy(token) >= minEntropy;
    }

    /// <summary>
    /// The mean length of the "words" of a token, split where CamelCase or snake_case would split it
    /// (lower → upper, letter ↔ digit, punctuation). Identifiers such as "getUserAccountByEmail2" or
    /// "Should_Return_404_When_Key_Is_Missing" have words of 4–5 characters; random text about 2.
    /// </summary>
    public static double MeanWordLength(ReadOnlySpan<char> s)
    {
        int words = 0, characters = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (!char.IsAsciiLetterOrDigit(s[i]))
            {
                continue;
            }

            characters++;
            var previous = i > 0 ? s[i - 1] : ' ';
            var boundary = !char.IsAsciiLetterOrDigit(previous)
                || char.IsAsciiDigit(previous) != char.IsAsciiDigit(s[i])
                || (char.IsAsciiLetterLower(previous) && char.IsAsciiLetterUpper(s[i]));
            words += boundary ? 1 : 0;
        }

        return words == 0 ? 0 : (double)characters / words;
    }

    /// <summary>Shannon entropy of the characters of <paramref name="s"/>, bits per character.</summary>
    public static double Entropy(ReadOnlySpan<char> s)
    {
        Span<int> counts = stackalloc int[128];
        var n = 0;
        foreach (var c in s)
        {
            if (c < 128)
            {
                counts[c]++;
                n++;
            }
        }

        var entropy = 0.0;
        foreach (var count in counts)
        {
            if (count > 0)
            {
                var p = (double)count / n;
                entropy -= p * Math.Log2(p);
            }
        }

        return entropy;
    }

    private static double ClassChanges(ReadOnlySpan<char> s)
    {
        var changes = 0;
        for (var i = 1; i < s.Length; i++)
        {
            changes += Class(s[i]) != Class(s[i - 1]) ? 1 : 0;
        }

        return s.Length < 2 ? 0 : (double)changes / (s.Length - 1);
    }

    private static int Class(char c) => char.IsAsciiDigit(c) ? 0 : char.IsAsciiLetterUpper(c) ? 1 : char.IsAsciiLetterLower(c) ? 2 : 3;
}
