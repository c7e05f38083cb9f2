using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.Configuration;
using Gateway.Aspire.Policy.Extensions;
using Gateway.Aspire.Policy.Identities;
using Gateway.Aspire.Policy.Tokens;

// A failed start ends in one critical line naming the cause and exit code 1 (ServiceProcess).
return ServiceProcess.Run(args, builder =>
{
    builder.AddServiceDefaults();
    builder.AddApplicationServices();

    var app = builder.Build();

    app.MapDefaultEndpoints();
    app.MapGrpcService<AdmissionService>();
    app.MapGrpcService<TokensService>();
    app.MapGrpcService<IdentitiesService>();
    app.MapGrpcService<SpendService>();
    app.MapGrpcService<ConfigService>();

    return app;
});
