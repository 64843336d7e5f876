package signature

// Doors for the package's external tests into its unexported parts.

// ToDER is toDER.
var ToDER = toDER
