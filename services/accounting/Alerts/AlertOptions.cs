namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>Delivery of alerts (configuration section <c>Accounting:Alerts</c>).</summary>
public sealed record AlertOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Accounting:Alerts";

    /// <summary>How often the queue is read for new and abandoned entries. Default: 1 second.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Wait before the first retry of a failed delivery; doubled per attempt. Default: 1 second.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between retries; must stay below <see cref="ClaimIdle"/>. Default: 30 seconds.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Delivery attempts per target before an alert is given up (logged, acknowledged). Default: 20 (about 8 minutes).</summary>
    public int MaxAttempts { get; init; } = 20;

    /// <summary>
    /// How long an entry may sit unacknowledged with a consumer before another replica takes it over
    /// (a replica that stopped mid-delivery). Default: 1 minute.
    /// </summary>
    public TimeSpan ClaimIdle { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Timeout of one webhook call, or of each SMTP step (connect, command, reply). Default: 10 seconds.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often error-rate and latency rules are evaluated. Default: 30 seconds.</summary>
    public TimeSpan EvaluationInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>SMTP for <c>email</c> targets; without a host, email targets are skipped (logged).</summary>
    public SmtpOptions Smtp { get; init; } = new();
}

/// <summary>The SMTP server email alerts go through.</summary>
public sealed record SmtpOptions
{
    /// <summary>Server host; null (default) disables email.</summary>
    public string? Host { get; init; }

    /// <summary>Server port. Default: 587.</summary>
    public int Port { get; init; } = 587;

    /// <summary>
    /// Require TLS: implicit TLS on port 465, STARTTLS on any other port. Default: true. False sends in
    /// clear text (a relay on the same host or network only).
    /// </summary>
    public bool EnableSsl { get; init; } = true;

    /// <summary>Sender address. Default: gateway@localhost.</summary>
    public string From { get; init; } = "gateway@localhost";

    /// <summary>User name; none (default) sends without authentication.</summary>
    public string? UserName { get; init; }

    /// <summary>Password, from the environment (<c>Accounting__Alerts__Smtp__Password</c>), never a file.</summary>
    public string? Password { get; init; }

    // Never StartTlsWhenAvailable: a server (or someone in between) that hides STARTTLS would get the password in clear.
    internal MailKit.Security.SecureSocketOptions SocketOptions => !EnableSsl
        ? MailKit.Security.SecureSocketOptions.None
        : Port == 465 ? MailKit.Security.SecureSocketOptions.SslOnConnect : MailKit.Security.SecureSocketOptions.StartTls;
}
