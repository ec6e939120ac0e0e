resource "aws_s3_bucket" "data" {
  bucket = "acme-data"
}

resource "aws_security_group" "open" {
  name = "open"

  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_iam_policy_attachment" "admin" {
  name       = "admin"
  roles      = ["ci"]
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
