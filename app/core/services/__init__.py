"""The service layer: each public function is one unit of work and commits."""
