namespace Gateway.Aspire.Policy.Budgets;

/// <summary>A budget <c>unit</c>: calendar periods in UTC, as TrueFoundry defines them.</summary>
/// <param name="Name">The unit as written in the file.</param>
/// <param name="Description">"day", "week", "month", for messages.</param>
public sealed record BudgetPeriod(string Name, string Description)
{
    /// <summary>Resets at 00:00 UTC.</summary>
    public static readonly BudgetPeriod Day = new("cost_per_day", "day");

    /// <summary>Resets on Monday 00:00 UTC.</summary>
    public static readonly BudgetPeriod Week = new("cost_per_week", "week");

    /// <summary>Resets on the 1st of the month, 00:00 UTC.</summary>
    public static readonly BudgetPeriod Month = new("cost_per_month", "month");

    /// <summary>Every unit.</summary>
    public static readonly IReadOnlyList<BudgetPeriod> All = [Day, Week, Month];

    /// <summary>The period containing <paramref name="now"/>: its start (inclusive) and end (exclusive), both UTC.</summary>
    public (DateTimeOffset Start, DateTimeOffset End) Containing(DateTimeOffset now)
    {
        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        if (this == Day)
        {
            return (today, today.AddDays(1));
        }

        if (this == Week)
        {
            // DayOfWeek counts from Sunday = 0; ISO weeks start on Monday.
            var monday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
            return (monday, monday.AddDays(7));
        }

        var first = new DateTimeOffset(today.Year, today.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return (first, first.AddMonths(1));
    }
}
