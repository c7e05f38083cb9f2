namespace Gateway.Aspire.Guardrails.Pii;

/// <summary>The kinds of personal data and secrets the PII detectors find.</summary>
internal enum PiiType
{
    /// <summary>An e-mail address (<c>email</c>).</summary>
    Email,

    /// <summary>A telephone number, E.164 or a common national format (<c>phone</c>).</summary>
    Phone,

    /// <summary>A payment card number: 13–19 digits, Luhn-valid (<c>credit_card</c>).</summary>
    CreditCard,

    /// <summary>An international bank account number with a valid length and mod-97 check (<c>iban</c>).</summary>
    Iban,

    /// <summary>A US social security number in a valid range (<c>us_ssn</c>).</summary>
    UsSsn,

    /// <summary>A US bank routing number (ABA checksum) next to banking words (<c>aba_routing</c>).</summary>
    AbaRouting,

    /// <summary>A bank account number next to banking words (<c>bank_account</c>).</summary>
    BankAccount,

    /// <summary>An IPv4 or IPv6 address (<c>ip_address</c>).</summary>
    IpAddress,

    /// <summary>An API key, token, private key or other high-entropy secret (<c>secret</c>).</summary>
    Secret,

    /// <summary>A date next to words such as "DOB" or "born" (<c>date_of_birth</c>).</summary>
    DateOfBirth,
}
