using Gateway.Aspire.Guardrails.Pii.Detectors;

namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>
/// Runs the PII detectors over a text and settles overlaps. One instance serves the whole process
/// (singleton): detectors and their regexes are immutable, so <see cref="Scan"/> is thread-safe.
/// </summary>
/// <remarks>
/// Cost is linear in the text: every regex is NonBacktracking, validators and context checks look
/// at bounded windows, and detectors whose trigger character is absent (no digit, no '@') are
/// skipped. Measured in docs/guardrails-pii.md (tests/Guardrails.Benchmarks).
/// </remarks>
internal sealed class PiiScanner
{
    /// <summary>Candidates under this confidence are dropped by the detectors and never reported.</summary>
    public const double MinConfidence = 0.5;

    // When two candidates overlap with equal confidence, the more specific type wins (a Luhn-valid
    // card over a phone-shaped run, a key over a generic token, a routing number over an account).
    private static readonly PiiType[] Specificity =
    [
        PiiType.Secret, PiiType.Iban, PiiType.CreditCard, PiiType.Email, PiiType.UsSsn, PiiType.AbaRouting,
        PiiType.IpAddress, PiiType.Phone, PiiType.DateOfBirth, PiiType.BankAccount,
    ];

    private readonly PiiDetector[] _detectors;

    /// <summary>A scanner with every built-in detector.</summary>
    public PiiScanner()
        : this(
        [
            new EmailDetector(), new PhoneDetector(), new PaymentCardDetector(), new IbanDetector(), new UsSsnDetector(),
            new AbaRoutingDetector(), new BankAccountDetector(), new IpAddressDetector(), new SecretDetector(), new DateOfBirthDetector(),
        ])
    {
    }

    private PiiScanner(PiiDetector[] detectors)
    {
        _detectors = detectors;
        MaxMatchLength = detectors.Max(d => d.MaxLength);
        MaxSpacedMatchLength = detectors.Where(d => d.SpansWhitespace && d.Type != PiiType.Secret).Max(d => d.MaxLength);
        MaxWordMatchLength = SecretDetector.MaxTokenLength;
    }

    /// <summary>
    /// The longest text a single match can span: what a stream window must hold back in the worst
    /// case (a PEM private key block, <see cref="SecretDetector.MaxPemLength"/>). Streams hold back far
    /// less in practice: see <see cref="StreamingPiiFilter"/>.
    /// </summary>
    public int MaxMatchLength { get; }

    /// <summary>The longest match that may contain whitespace, PEM blocks aside (an IBAN in groups of four).</summary>
    public int MaxSpacedMatchLength { get; }

    /// <summary>The longest match without whitespace (a JWT).</summary>
    public int MaxWordMatchLength { get; }

    /// <summary>
    /// Non-overlapping matches in <paramref name="text"/>, sorted by start. On overlap the more
    /// confident match wins, then the more specific type, then the longer. <paramref name="types"/>
    /// null means every type.
    /// </summary>
    public IReadOnlyList<PiiMatch> Scan(string text, IReadOnlyCollection<PiiType>? types = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return [];
        }

        var candidates = new List<PiiMatch>();
        foreach (var detector in _detectors)
        {
            if ((types is null || types.Contains(detector.Type)) && detector.MightContain(text))
            {
                detector.Detect(text, candidates);
            }
        }

        return candidates.Count <= 1 ? candidates : Resolve(candidates);
    }

    private static List<PiiMatch> Resolve(List<PiiMatch> candidates)
    {
        candidates.Sort(static (a, b) =>
        {
            var byConfidence = b.Confidence.CompareTo(a.Confidence);
            if (byConfidence != 0)
            {
                return byConfidence;
            }

            var bySpecificity = Array.IndexOf(Specificity, a.Type).CompareTo(Array.IndexOf(Specificity, b.Type));
            return bySpecificity != 0 ? bySpecificity : b.Length.CompareTo(a.Length);
        });

        var kept = new List<PiiMatch>(candidates.Count);
        foreach (var candidate in candidates)
        {
            var at = InsertionPoint(kept, candidate.Start);
            var overlapsBefore = at > 0 && kept[at - 1].End > candidate.Start;
            var overlapsAfter = at < kept.Count && kept[at].Start < candidate.End;
            if (!overlapsBefore && !overlapsAfter)
            {
                kept.Insert(at, candidate);
            }
        }

        return kept;
    }

    // First index whose match starts at or after `start` (kept is sorted by start and non-overlapping).
    private static int InsertionPoint(List<PiiMatch> kept, int start)
    {
        int lo = 0, hi = kept.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (kept[mid].Start < start)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
