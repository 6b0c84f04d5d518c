// The metrics endpoint's examples import StrataServe.
import StrataServe
