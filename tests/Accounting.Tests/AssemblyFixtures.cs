using Gateway.Aspire.Testing;

// One real PostgreSQL for the whole assembly; each test takes its own database.
[assembly: AssemblyFixture(typeof(PostgresServerFixture))]
